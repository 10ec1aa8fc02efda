#!/usr/bin/env bash
# Table 2, row "OPSD": Qwen3-VL-8B-Instruct trained on MMFineReason-123K, 200 steps.
#
# Reproduces: RLSD paper (arXiv:2604.03128) Table 2, row "OPSD" (the 4K-response setting).
# Paper numbers: MMMU 63.82 | MathVista 75.10 | MathVision 47.53 | ZeroBench 21.06 | WeMath 54.95 | Avg. 52.49
# Method: on-policy self-distillation, Â_t = Δ_t (paper Eq. 17), the teacher sees the verified reasoning
#   trace (extra_info.reference_solution), lr 1e-5. Released baseline vs ours: docs/reproduction.md.
# Settings: rlsd_verl/config/experiment/table2/opsd.yaml (+ common.yaml: clip 0.2/0.28, no KL, no
#   entropy, token-mean) and rlsd_verl/config/scale/<scale>.yaml (256 prompts × 8 rollouts, 4096/4096
#   tokens, one optimizer step per trainer step, validation every 5 steps, vLLM, FSDP2).
# Hardware: the paper used 4 nodes × 8 H200 (default --scale paper, run on node 0 of the Ray cluster);
#   --single-node: one 8-GPU node; --smoke: 1 GPU, Qwen3-VL-2B-Instruct, 5 steps; --cpu: CPU only,
#   tiny model, 2 steps.
# Expected time: ~10–25 h on 4×8 H200 (estimate); --cpu ~2–3 min on 2 cores.
# Launch:
#   bash recipes/table2/opsd.sh [--single-node | --smoke | --cpu] [--dry-run] [Hydra overrides]
#   The same as: python -m rlsd_verl.main +scale=paper +experiment=table2/opsd (plus paths).
#   Inputs: DATA_DIR or TRAIN_FILES/VAL_FILES, MODEL_PATH, OUTPUT_DIR, EXPERIMENT (--help lists them).
set -euo pipefail
exec "${PYTHON:-python}" -m rlsd_verl.recipes opsd "$@"
