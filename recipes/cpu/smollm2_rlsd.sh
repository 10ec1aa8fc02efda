#!/usr/bin/env bash
# RLSD on CPU with a real pretrained model: SmolLM2-135M-Instruct learning single-digit addition,
# through verl's real V1 trainer (hf rollout, llama remove-padding path, teacher pass, FSDP2 update),
# with token-credit records rendered as heatmaps (the paper's Fig. 6).
#
# What it shows: held-out accuracy (greedy, 32 sums never seen in training) before training and every
# 2 steps, the rlsd/* metrics, and OUT/viz/step_<k>.png: which tokens of correct responses get the most
# credit and which tokens of wrong ones the most blame. About 10-15 minutes on 2 idle cores.
#
# Launch (sets up ./.venv on first use, converts the model once into ~/.cache/rlsd_verl):
#   bash recipes/cpu/smollm2_rlsd.sh
#   bash recipes/cpu/smollm2_rlsd.sh trainer.total_training_steps=12 algorithm.adv_estimator=grpo
# Every argument is a Hydra override forwarded to `python -m rlsd_verl.main`.
# OUT (default ./outputs/smollm2_rlsd) holds the data, checkpoints, logs and pictures.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$ROOT/scripts/install_cpu.sh"
PY="$ROOT/.venv/bin/python"
OUT=${OUT:-$PWD/outputs/smollm2_rlsd}
EXPERIMENT=${EXPERIMENT:-smollm2_$(date +%Y%m%d_%H%M%S)}
mkdir -p "$OUT"

MODEL=$("$PY" -m rlsd_verl.assets smollm2 | tail -1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["smollm2"])')
"$PY" -m rlsd_verl.assets addition --out "$OUT/data" >/dev/null

export VERL_FILE_LOGGER_ROOT="$OUT/logs"
"$PY" -m rlsd_verl.main preset=cpu \
  algorithm.adv_estimator=rlsd \
  algorithm.rlsd.decay_steps=8 algorithm.rlsd.sync_interval=2 \
  algorithm.rlsd.dump_tokens=8 algorithm.rlsd.dump_every=2 \
  data.train_files="$OUT/data/train.parquet" data.val_files="$OUT/data/val.parquet" \
  data.train_batch_size=8 data.max_prompt_length=128 data.max_response_length=24 \
  actor_rollout_ref.model.path="$MODEL" actor_rollout_ref.model.use_remove_padding=True \
  actor_rollout_ref.actor.ppo_mini_batch_size=8 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=16 \
  actor_rollout_ref.actor.use_kl_loss=False actor_rollout_ref.actor.entropy_coeff=0 \
  actor_rollout_ref.actor.optim.lr=2e-5 \
  actor_rollout_ref.rollout.n=4 actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=16 \
  reward.custom_reward_function.path=pkg://rlsd_verl.rewards.final_number \
  reward.custom_reward_function.name=compute_score \
  trainer.logger='[console,file]' trainer.project_name=smollm2 trainer.experiment_name="$EXPERIMENT" \
  trainer.default_local_dir="$OUT/checkpoints/$EXPERIMENT" \
  trainer.val_before_train=True trainer.test_freq=2 trainer.save_freq=-1 \
  trainer.total_training_steps=8 \
  "$@"

echo
echo "== per-step metrics ($OUT/logs/smollm2/$EXPERIMENT.jsonl) =="
"$PY" -m rlsd_verl.metrics_table "$OUT/logs/smollm2/$EXPERIMENT.jsonl" \
  val-core/rlsd_verl/addition/acc/mean@1 critic/score/mean rlsd/lambda rlsd/delta_mean rlsd/clip_frac timing_s/step
if [[ -f "$OUT/logs/smollm2/$EXPERIMENT.tokens.jsonl" ]]; then
  echo "== token-credit heatmaps =="
  "$PY" -m rlsd_verl.viz "$OUT/logs/smollm2/$EXPERIMENT.tokens.jsonl" --out "$OUT/viz/$EXPERIMENT"
fi
