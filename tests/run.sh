#!/usr/bin/env bash
# The project's test command: set up ./.venv if needed, then run the whole suite.
#   bash tests/run.sh               # everything (unit + end-to-end trainer runs on CPU)
#   bash tests/run.sh -m "not e2e"  # unit tests only (about 3 minutes)
#   bash tests/run.sh tests/algos   # any pytest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_cpu.sh
exec .venv/bin/python -m pytest "$@"
