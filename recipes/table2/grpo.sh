#!/usr/bin/env bash
# Table 2, row "GRPO": Qwen3-VL-8B-Instruct trained with GRPO on MMFineReason-123K, 200 steps.
#
# Reproduces: RLSD paper (arXiv:2604.03128) Table 2, row "GRPO" (the 4K-response setting).
# Paper numbers: MMMU 65.11 | MathVista 76.20 | MathVision 48.82 | ZeroBench 22.60 | WeMath 56.57 | Avg. 53.86
#   ("GRPO (2× steps)" of Fig. 1b, 400 steps: MMMU 67.4 | MathVista 76.7 | ZeroBench 22.3; pass
#   trainer.total_training_steps=400 EXPERIMENT=grpo_400)
# Method: GRPO, group-normalised outcome advantage (verl's own estimator and trainer), lr 1e-6.
#   Shared settings (recipes/table2/common.sh): 256 prompts × 8 rollouts, 4096/4096 prompt/response
#   tokens, clip 0.2/0.28, no KL, no entropy bonus, token-mean, one optimizer step per rollout step,
#   validation every 5 steps, vLLM rollout, FSDP2.
# Hardware: the paper used 4 nodes × 8 H200 (default: NNODES=4 GPUS_PER_NODE=8); --single-node: one
#   8-GPU node; --smoke: 1 GPU (Qwen3-VL-2B-Instruct); --cpu: CPU only (tiny model, 2 steps).
# Expected time: not reported by the paper and not measured by us on GPUs. Estimate ~10–20 h on
#   4×8 H200 (3–6 min per step of 2048 responses up to 4096 tokens, plus validation); --single-node
#   about 4× longer; --smoke ~15–30 min on one H100; --cpu ~2 min on 2 cores.
# Launch:
#   bash recipes/table2/grpo.sh                  # the paper's run, on node 0 of a 4-node Ray cluster
#   bash recipes/table2/grpo.sh --single-node    # one node, GPUS_PER_NODE GPUs
#   bash recipes/table2/grpo.sh --smoke          # one GPU, small model, 5 steps
#   bash recipes/table2/grpo.sh --cpu            # CPU backend, tiny model, 2 steps
#   bash recipes/table2/grpo.sh --dry-run        # print the command only
# Inputs: MODEL_PATH, TRAIN_FILES, VAL_FILES (or DATA_DIR), OUTPUT_DIR, EXPERIMENT, NNODES,
#   GPUS_PER_NODE, ...: see recipes/table2/common.sh or --help. Data: docs/reproduction.md.
set -euo pipefail

ROW="GRPO"
METHOD=grpo
ROW_LR=1e-6
METHOD_ARGS=()
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
table2_main "$@"
