#!/usr/bin/env bash
# Table 2, row "RLSD (Ours)": Qwen3-VL-8B-Instruct trained on MMFineReason-123K, 200 steps.
#
# Reproduces: RLSD paper (arXiv:2604.03128) Table 2, row "RLSD (Ours)" (the 4K-response setting).
# Paper numbers: MMMU 67.22 | MathVista 78.10 | MathVision 52.73 | ZeroBench 24.85 | WeMath 58.00 | Avg. 56.18
# Method: Â_t = A·((1−λ) + λ·clip(w_t, 1±ε_w)), λ 0.5 → 0 over the first 50 trainer steps, ε_w 0.2, the
#   teacher = the policy with the ground-truth answer in its prompt, a copy synced every 10 steps, lr 1e-6.
#   --official: the authors' released script instead (λ over 60 steps counted from 1, sync every 20
#   steps, its teacher prompt): experiment table2/rlsd_official, side by side in docs/reproduction.md.
# Settings: rlsd_verl/config/experiment/table2/rlsd.yaml (+ common.yaml: clip 0.2/0.28, no KL, no
#   entropy, token-mean) and rlsd_verl/config/scale/<scale>.yaml (256 prompts × 8 rollouts, 4096/4096
#   tokens, one optimizer step per trainer step, validation every 5 steps, vLLM, FSDP2).
# Hardware: the paper used 4 nodes × 8 H200 (default --scale paper, run on node 0 of the Ray cluster);
#   --single-node: one 8-GPU node; --smoke: 1 GPU, Qwen3-VL-2B-Instruct, 5 steps; --cpu: CPU only,
#   tiny model, 2 steps.
# Expected time: GRPO's time plus one teacher forward per response for the first 50 steps (estimate ~10–20 h on
#   4×8 H200, not measured); --cpu ~2–3 min on 2 cores.
# Launch:
#   bash recipes/table2/rlsd.sh [--single-node | --smoke | --cpu] [--dry-run] [Hydra overrides]
#   bash recipes/table2/rlsd.sh --official        # the released script's settings
#   The same as: python -m rlsd_verl.main +scale=paper +experiment=table2/rlsd (plus paths).
#   Inputs: DATA_DIR or TRAIN_FILES/VAL_FILES, MODEL_PATH, OUTPUT_DIR, EXPERIMENT (--help lists them).
set -euo pipefail
exec "${PYTHON:-python}" -m rlsd_verl.recipes rlsd "$@"
