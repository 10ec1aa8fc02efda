#!/usr/bin/env bash
# Table 2, row "GRPO": Qwen3-VL-8B-Instruct trained on MMFineReason-123K, 200 steps.
#
# Reproduces: RLSD paper (arXiv:2604.03128) Table 2, row "GRPO" (the 4K-response setting).
# Paper numbers: MMMU 65.11 | MathVista 76.20 | MathVision 48.82 | ZeroBench 22.60 | WeMath 56.57 | Avg. 53.86
# Method: GRPO, group-normalised outcome advantage (verl's own estimator and trainer), lr 1e-6.
#   ("GRPO (2× steps)" of Fig. 1b: add trainer.total_training_steps=400 with EXPERIMENT=grpo_400.)
# Settings: rlsd_verl/config/experiment/table2/grpo.yaml (+ common.yaml: clip 0.2/0.28, no KL, no
#   entropy, token-mean) and rlsd_verl/config/scale/<scale>.yaml (256 prompts × 8 rollouts, 4096/4096
#   tokens, one optimizer step per trainer step, validation every 5 steps, vLLM, FSDP2).
# Hardware: the paper used 4 nodes × 8 H200 (default --scale paper, run on node 0 of the Ray cluster);
#   --single-node: one 8-GPU node; --smoke: 1 GPU, Qwen3-VL-2B-Instruct, 5 steps; --cpu: CPU only,
#   tiny model, 2 steps.
# Expected time: ~10–20 h on 4×8 H200 (estimate, not measured); --cpu ~2 min on 2 cores.
# Launch:
#   bash recipes/table2/grpo.sh [--single-node | --smoke | --cpu] [--dry-run] [Hydra overrides]
#   The same as: python -m rlsd_verl.main +scale=paper +experiment=table2/grpo (plus paths).
#   Inputs: DATA_DIR or TRAIN_FILES/VAL_FILES, MODEL_PATH, OUTPUT_DIR, EXPERIMENT (--help lists them).
set -euo pipefail
exec "${PYTHON:-python}" -m rlsd_verl.recipes grpo "$@"
