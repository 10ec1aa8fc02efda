#!/usr/bin/env bash
# Table 2, row "GRPO+OPSD": Qwen3-VL-8B-Instruct trained on MMFineReason-123K, 200 steps.
#
# Reproduces: RLSD paper (arXiv:2604.03128) Table 2, row "GRPO+OPSD" (the 4K-response setting).
# Paper numbers: MMMU 63.22 | MathVista 75.90 | MathVision 48.52 | ZeroBench 22.16 | WeMath 54.76 | Avg. 52.91
# Method: Â_t = A + β·Δ_t (β = 1.0; the paper's tuned value is not reported: algorithm.rlsd.beta=...),
#   the teacher sees the verified reasoning trace, lr 1e-6.
# Settings: rlsd_verl/config/experiment/table2/grpo_opsd.yaml (+ common.yaml: clip 0.2/0.28, no KL, no
#   entropy, token-mean) and rlsd_verl/config/scale/<scale>.yaml (256 prompts × 8 rollouts, 4096/4096
#   tokens, one optimizer step per trainer step, validation every 5 steps, vLLM, FSDP2).
# Hardware: the paper used 4 nodes × 8 H200 (default --scale paper, run on node 0 of the Ray cluster);
#   --single-node: one 8-GPU node; --smoke: 1 GPU, Qwen3-VL-2B-Instruct, 5 steps; --cpu: CPU only,
#   tiny model, 2 steps.
# Expected time: ~10–25 h on 4×8 H200 (estimate); --cpu ~2–3 min on 2 cores.
# Launch:
#   bash recipes/table2/grpo_opsd.sh [--single-node | --smoke | --cpu] [--dry-run] [Hydra overrides]
#   The same as: python -m rlsd_verl.main +scale=paper +experiment=table2/grpo_opsd (plus paths).
#   Inputs: DATA_DIR or TRAIN_FILES/VAL_FILES, MODEL_PATH, OUTPUT_DIR, EXPERIMENT (--help lists them).
set -euo pipefail
exec "${PYTHON:-python}" -m rlsd_verl.recipes grpo_opsd "$@"
