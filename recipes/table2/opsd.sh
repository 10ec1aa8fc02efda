#!/usr/bin/env bash
# Table 2, row "OPSD": Qwen3-VL-8B-Instruct trained with on-policy self-distillation on MMFineReason-123K.
#
# Reproduces: RLSD paper (arXiv:2604.03128) Table 2, row "OPSD" (the 4K-response setting); OPSD is
#   Zhao et al. 2026 (arXiv:2601.18734).
# Paper numbers: MMMU 63.82 | MathVista 75.10 | MathVision 47.53 | ZeroBench 21.06 | WeMath 54.95 | Avg. 52.49
# Method: token advantage Â_t = Δ_t = log P_T(y_t) − log P_S(y_t) (reverse KL through the
#   log-derivative; the verifier's reward is not used); the teacher is the policy with privileged
#   information in its prompt: the verified Qwen3-VL-235B-Thinking reasoning trace of
#   MMFineReason-123K (HINT_KEY, default extra_info.reference_solution; HINT_KEY=reward_model.ground_truth
#   gives it only the answer), cut to MAX_HINT_TOKENS [4096] tokens; teacher copy synced every 10
#   steps; lr 1e-5 (paper: "following their original implementations"). Not given by the paper: the
#   divergence variant, top-k, whether the teacher was frozen (override ++algorithm.rlsd.teacher=live|frozen).
#   Shared settings (recipes/table2/common.sh): 256 prompts × 8 rollouts, 4096/4096 prompt/response
#   tokens, clip 0.2/0.28, no KL, no entropy bonus, token-mean, one optimizer step per rollout step,
#   validation every 5 steps, vLLM rollout, FSDP2.
# Hardware: the paper used 4 nodes × 8 H200 (default: NNODES=4 GPUS_PER_NODE=8); --single-node: one
#   8-GPU node; --smoke: 1 GPU (Qwen3-VL-2B-Instruct); --cpu: CPU only (tiny model, 2 steps).
# Expected time: not reported by the paper and not measured by us on GPUs. Estimate: GRPO's time
#   (~10–20 h on 4×8 H200) plus a teacher forward over prompt + trace + response at every step
#   (~10–25 % more); --single-node about 4× longer; --smoke ~15–30 min on one H100; --cpu ~2–3 min.
# Launch:
#   bash recipes/table2/opsd.sh                  # the paper's run, on node 0 of a 4-node Ray cluster
#   bash recipes/table2/opsd.sh --single-node    # one node, GPUS_PER_NODE GPUs
#   bash recipes/table2/opsd.sh --smoke          # one GPU, small model, 5 steps
#   bash recipes/table2/opsd.sh --cpu            # CPU backend, tiny model, 2 steps
#   bash recipes/table2/opsd.sh --dry-run        # print the command only
# Inputs: MODEL_PATH, TRAIN_FILES, VAL_FILES (or DATA_DIR), OUTPUT_DIR, EXPERIMENT, NNODES,
#   GPUS_PER_NODE, HINT_KEY, MAX_HINT_TOKENS, ...: see recipes/table2/common.sh or --help.
#   The training parquet must carry extra_info.reference_solution (data_prep/mmfinereason.py writes it).
set -euo pipefail

ROW="OPSD"
METHOD=opsd
ROW_LR=1e-5
METHOD_ARGS=(
  "++algorithm.rlsd.hint_key=${HINT_KEY:-extra_info.reference_solution}"
  "++algorithm.rlsd.max_hint_tokens=${MAX_HINT_TOKENS:-4096}"
  ++algorithm.rlsd.teacher=sync
  ++algorithm.rlsd.sync_interval=10
)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
table2_main "$@"
