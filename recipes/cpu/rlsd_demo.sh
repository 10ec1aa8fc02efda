#!/usr/bin/env bash
# RLSD on CPU: the tiny Qwen2.5-VL model on synthetic image questions, through verl's real
# V1 trainer (rollout, reward, teacher pass, FSDP2 update, weight sync) on the CPU backend.
#
# What it shows: the per-step rlsd/* metrics (λ, Δ = lp_teacher − lp_student, clip fraction,
# multiplier) and the teacher-pass time. The models are random and tiny: scores stay near
# zero; this is a pipeline demo, not a result.
#
# Launch (sets up ./.venv on first use; ~3 minutes on 2 cores, mostly process start-up):
#   bash recipes/cpu/rlsd_demo.sh
#   bash recipes/cpu/rlsd_demo.sh trainer.total_training_steps=6 algorithm.rlsd.decay_steps=3
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
"$PY" -m rlsd_verl.main preset=cpu \
  algorithm.adv_estimator=rlsd \
  algorithm.rlsd.decay_steps=4 \
  algorithm.rlsd.sync_interval=2 \
  data.train_files="$A/data/vl/train.parquet" data.val_files="$A/data/vl/val.parquet" \
  data.train_batch_size=4 data.max_prompt_length=256 data.max_response_length=16 \
  actor_rollout_ref.model.path="$A/qwen2_5_vl" \
  actor_rollout_ref.actor.ppo_mini_batch_size=4 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4 \
  actor_rollout_ref.actor.use_kl_loss=False actor_rollout_ref.actor.optim.lr=1e-3 \
  actor_rollout_ref.rollout.n=2 actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4 \
  reward.custom_reward_function.path=pkg://rlsd_verl.assets.toy_reward \
  reward.custom_reward_function.name=compute_score \
  trainer.logger='[console,file]' trainer.project_name=rlsd_demo trainer.experiment_name="$EXPERIMENT" \
  trainer.default_local_dir="$OUT/checkpoints/$EXPERIMENT" \
  trainer.val_before_train=False trainer.test_freq=-1 trainer.save_freq=-1 \
  trainer.total_training_steps=4 \
  "$@"

echo
echo "== RLSD demo: per-step metrics ($OUT/logs/rlsd_demo/$EXPERIMENT.jsonl) =="
"$PY" -m rlsd_verl.metrics_table "$OUT/logs/rlsd_demo/$EXPERIMENT.jsonl"
