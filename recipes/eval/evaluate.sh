#!/usr/bin/env bash
# Benchmark evaluation with verl validation only (no training), then per-benchmark accuracy.
#
#   recipes/eval/evaluate.sh MODEL OUT_DIR [extra Hydra overrides ...]
#
# MODEL    model folder or hub id (actor_rollout_ref.model.path), e.g. a merged RLSD checkpoint.
# OUT_DIR  receives
#            generations/<step>.jsonl          verl's validation dump (trainer.validation_data_dir)
#            metrics/<PROJECT>/<RUN_NAME>.jsonl  verl's `file` logger (val-core/<data_source>/acc/mean@N)
#            eval.json                         per-benchmark accuracy (python -m rlsd_verl.eval.aggregate),
#                                              per subject for MMMU and MathVision
# Any further argument is passed to `python -m rlsd_verl.main` as a Hydra override (last one wins).
#
# Environment knobs (defaults in brackets):
#   DATA_DIR            folder with the prepared benchmark parquets [data/eval]
#   VAL_FILES           space-separated parquet files to evaluate [every *.parquet in DATA_DIR]
#   RUN_NAME            method/run name, used as trainer.experiment_name and stored in eval.json
#                       [basename of MODEL]
#   PROJECT             trainer.project_name [rlsd_eval]
#   PRESET              `cpu` for the CPU backend (tiny models, tests); empty for GPUs [empty]
#   N_GPUS              trainer.n_gpus_per_node on GPUs [1]
#   ROLLOUT             rollout engine on GPUs (actor_rollout_ref.rollout.name) [vllm]
#   MAX_PROMPT_LENGTH   data.max_prompt_length [4096]  (paper: 4096 prompt / 4096 response, §5.1)
#   MAX_RESPONSE_LENGTH data.max_response_length [4096]
#   VAL_BATCH_SIZE      data.val_batch_size [512]
#   VAL_N               responses per question (rollout.val_kwargs.n) [1]
#   VAL_TEMPERATURE     sampling temperature; 0 = greedy [0]
#   VAL_TOP_P           [1.0]
#   VAL_TOP_K           [-1]
#   FORMAT_WEIGHT       reward format weight; 0 makes score == acc [0.0]
#   PYTHON              interpreter [python]
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
MODEL=$1
OUT_DIR=$2
shift 2

PYTHON=${PYTHON:-python}
DATA_DIR=${DATA_DIR:-data/eval}
PROJECT=${PROJECT:-rlsd_eval}
RUN_NAME=${RUN_NAME:-$(basename "${MODEL%/}")}
PRESET=${PRESET:-}
N_GPUS=${N_GPUS:-1}
ROLLOUT=${ROLLOUT:-vllm}
MAX_PROMPT_LENGTH=${MAX_PROMPT_LENGTH:-4096}
MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-4096}
VAL_BATCH_SIZE=${VAL_BATCH_SIZE:-512}
VAL_N=${VAL_N:-1}
VAL_TEMPERATURE=${VAL_TEMPERATURE:-0}
VAL_TOP_P=${VAL_TOP_P:-1.0}
VAL_TOP_K=${VAL_TOP_K:--1}
FORMAT_WEIGHT=${FORMAT_WEIGHT:-0.0}

if [[ -n "${VAL_FILES:-}" ]]; then
  read -r -a files <<< "$VAL_FILES"
else
  shopt -s nullglob
  files=("$DATA_DIR"/*.parquet)
  shopt -u nullglob
fi
if [[ ${#files[@]} -eq 0 ]]; then
  echo "error: no benchmark parquet files (set VAL_FILES or DATA_DIR; DATA_DIR=$DATA_DIR)" >&2
  exit 2
fi
for f in "${files[@]}"; do
  if [[ ! -f "$f" ]]; then
    echo "error: benchmark file not found: $f" >&2
    exit 2
  fi
done
val_list=$(IFS=,; echo "${files[*]}")

# Greedy decoding unless a temperature is given.
if awk "BEGIN{exit !($VAL_TEMPERATURE > 0)}"; then do_sample=True; else do_sample=False; fi

mkdir -p "$OUT_DIR/generations" "$OUT_DIR/metrics"
GEN_DIR=$(cd "$OUT_DIR/generations" && pwd)
export VERL_FILE_LOGGER_ROOT
VERL_FILE_LOGGER_ROOT=$(cd "$OUT_DIR/metrics" && pwd)

backend=()
if [[ -n "$PRESET" ]]; then
  backend+=("preset=$PRESET")
else
  backend+=("trainer.n_gpus_per_node=$N_GPUS" "actor_rollout_ref.rollout.name=$ROLLOUT")
fi

# The training files are only loaded (val_only stops before the first step): reuse the first benchmark.
"$PYTHON" -m rlsd_verl.main \
  "${backend[@]}" \
  algorithm.adv_estimator=grpo \
  data.train_files="[${files[0]}]" \
  data.val_files="[$val_list]" \
  data.train_batch_size=1 \
  data.val_batch_size="$VAL_BATCH_SIZE" \
  data.max_prompt_length="$MAX_PROMPT_LENGTH" \
  data.max_response_length="$MAX_RESPONSE_LENGTH" \
  actor_rollout_ref.model.path="$MODEL" \
  actor_rollout_ref.actor.ppo_mini_batch_size=1 \
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1 \
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=1 \
  actor_rollout_ref.rollout.n=1 \
  actor_rollout_ref.rollout.val_kwargs.n="$VAL_N" \
  actor_rollout_ref.rollout.val_kwargs.do_sample="$do_sample" \
  actor_rollout_ref.rollout.val_kwargs.temperature="$VAL_TEMPERATURE" \
  actor_rollout_ref.rollout.val_kwargs.top_p="$VAL_TOP_P" \
  actor_rollout_ref.rollout.val_kwargs.top_k="$VAL_TOP_K" \
  reward.custom_reward_function.path=pkg://rlsd_verl.rewards \
  reward.custom_reward_function.name=compute_score \
  +reward.custom_reward_function.reward_kwargs.format_weight="$FORMAT_WEIGHT" \
  trainer.val_only=True \
  trainer.val_before_train=True \
  trainer.validation_data_dir="$GEN_DIR" \
  trainer.logger='["console","file"]' \
  trainer.project_name="$PROJECT" \
  trainer.experiment_name="$RUN_NAME" \
  trainer.default_local_dir="$OUT_DIR/checkpoints" \
  hydra.run.dir="$OUT_DIR/hydra" \
  "$@"

"$PYTHON" -m rlsd_verl.eval.aggregate "$GEN_DIR" --out "$OUT_DIR/eval.json" --name "$RUN_NAME" --model "$MODEL"
