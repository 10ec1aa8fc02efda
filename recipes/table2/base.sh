#!/usr/bin/env bash
# Table 2, row "Base LLM": Qwen3-VL-8B-Instruct evaluated without training on the five benchmarks.
#
# Reproduces: RLSD paper (arXiv:2604.03128) Table 2, row "Base LLM" (the 4K-response setting).
# Paper numbers: MMMU 62.44 | MathVista 73.80 | MathVision 47.37 | ZeroBench 19.76 | WeMath 54.10 | Avg. 51.49
# Method: no training; verl validation only over the benchmark parquets of data_prep/paper_benchmarks.py,
#   one greedy response per question, accuracy = the rule-based rlsd_verl.rewards verdict, then
#   rlsd_verl.eval.aggregate -> $OUTPUT_DIR/eval.json. Settings: rlsd_verl/config/experiment/table2/base.yaml.
#   The paper does not state its eval protocol: docs/reproduction.md. MODEL_PATH=<merged checkpoint>
#   evaluates a trained row the same way (recipes/reproduce_table2.sh does).
# Hardware: one node of 8 GPUs (vLLM); --smoke: 1 GPU, Qwen3-VL-2B-Instruct, 64 questions per file;
#   --cpu: CPU only, tiny model, tiny stand-in benchmarks.
# Expected time: ~1–2 h for the ~7,000 questions on 8 H100/H200 (estimate); --cpu ~2 min on 2 cores.
# Launch:
#   bash recipes/table2/base.sh [--smoke | --cpu] [--dry-run] [Hydra overrides]
#   The same as: python -m rlsd_verl.main +scale=single_node +experiment=table2/base (plus paths).
#   Inputs: EVAL_DATA_DIR [data/eval] or EVAL_FILES, MODEL_PATH, OUTPUT_DIR, EXPERIMENT (--help).
set -euo pipefail
exec "${PYTHON:-python}" -m rlsd_verl.recipes base "$@"
