#!/usr/bin/env bash
# The whole of the RLSD paper's Table 2: data, the base-model row, the five training rows, the
# evaluation of every trained model, and the report beside the paper's numbers.
#
# Reproduces: RLSD paper (arXiv:2604.03128) Table 2 (Qwen3-VL-8B-Instruct on MMFineReason-123K, 4K
#   responses; MMMU, MathVista, MathVision, ZeroBench, WeMath).
# Paper numbers: Avg. of the five, Base LLM 51.49 | GRPO 53.86 | OPSD 52.49 | SDPO 52.74 |
#   GRPO+OPSD 52.91 | RLSD 56.18 (per benchmark: docs/reproduction.md).
# Steps, each skipped when its output exists (so a rerun resumes):
#   1. data: MMFineReason-123K -> $DATA_DIR/mmfinereason_{train,val}.parquet (data_prep/mmfinereason.py,
#      from MMFINEREASON_INPUT, or from the hub with FROM_HUB=1) and the five benchmarks ->
#      $EVAL_DATA_DIR/*.parquet (data_prep/paper_benchmarks.py, from BENCHMARKS_ROOT or FROM_HUB=1);
#      without a source the script stops and names the variables.
#   2. Base LLM: recipes/table2/base.sh -> $OUTPUT_ROOT/base/eval/eval.json
#   3. for each METHOD: recipes/table2/$METHOD.sh -> $OUTPUT_ROOT/$METHOD/ (checkpoints/, metrics/);
#      then the final checkpoint merged to Hugging Face format (python -m verl.model_merger merge
#      --backend fsdp) -> $OUTPUT_ROOT/$METHOD/hf; then evaluated like the base model ->
#      $OUTPUT_ROOT/$METHOD/eval/eval.json
#   4. python -m rlsd_verl.report over all runs -> $OUTPUT_ROOT/report.md (+ plots)
# Hardware: the paper used 4 nodes × 8 H200 for training (default NNODES=4 GPUS_PER_NODE=8, run on
#   node 0 of a Ray cluster; evaluation uses one node); --single-node: one 8-GPU node; --smoke: 1 GPU,
#   Qwen3-VL-2B-Instruct, 5 steps per row; --cpu: CPU only, tiny model and data, 2 steps per row.
# Expected time: not measured on GPUs. Estimate on 4×8 H200: 5 rows × ~10–25 h of training + 6
#   evaluations × ~1–2 h, i.e. about 3–5 days run one after the other (rows are independent: run them
#   on separate clusters with OUTPUT_ROOT shared to go faster). --single-node: ~2–3 weeks.
#   --smoke: ~2–3 h on one H100. --cpu: ~15–25 min on 2 cores.
# Launch:
#   FROM_HUB=1 bash recipes/reproduce_table2.sh            # everything, the paper's settings
#   bash recipes/reproduce_table2.sh --single-node
#   METHODS="grpo rlsd" bash recipes/reproduce_table2.sh     # a subset of the rows
#   bash recipes/reproduce_table2.sh --cpu                   # the whole pipeline on CPU, tiny
#   bash recipes/reproduce_table2.sh --dry-run [--cpu|...]   # print every command, run nothing
#   Extra arguments are Hydra overrides passed to every training row (last one wins).
# Environment (defaults in brackets): OUTPUT_ROOT [outputs/table2, outputs/table2_smoke,
#   outputs/table2_cpu]; METHODS [grpo opsd grpo_opsd sdpo rlsd]; SKIP_BASE=1 skips the base row;
#   KEEP_GOING=1 goes on with the other rows when one fails (exit status 1 at the end);
#   DATA_DIR [data]; EVAL_DATA_DIR [data/eval]; MMFINEREASON_INPUT, BENCHMARKS_ROOT, FROM_HUB
#   (step 1); VAL_FRACTION [0.004] share of MMFineReason held out for validation during training;
#   MAX_PIXELS [1048576] image cap (the authors' image_max_pixels); PYTHON [python]; plus everything
#   python -m rlsd_verl.recipes reads (MODEL_PATH, ...; `python -m rlsd_verl.recipes --help`). Settings
#   per row and scale: rlsd_verl/config/experiment/table2/ and rlsd_verl/config/scale/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
TABLE2="$HERE/table2"
_t2_die() { echo "error: $*" >&2; exit 2; }
_t2_abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/${1#./}" ;; esac; }

export PYTHON=${PYTHON:-python}
# options (--cpu | --smoke | --single-node, --dry-run, --help, Hydra overrides) are parsed by the row launcher's
# own argparse: sets mode, dry_run, show_help, mode_flag=(...), extra=(...)
options=$(cd "$REPO" && "$PYTHON" -m rlsd_verl.recipes table2-shell-options "$@") || exit 2
eval "$options"
if [[ $show_help == 1 ]]; then
  sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 0
fi

case $mode in
  cpu) default_root=outputs/table2_cpu steps=2 ;;
  smoke) default_root=outputs/table2_smoke steps=5 ;;
  single-node) default_root=outputs/table2_single steps=200 ;;
  *) default_root=outputs/table2 steps=200 ;;
esac
OUTPUT_ROOT=$(_t2_abs "${OUTPUT_ROOT:-$default_root}")
read -r -a methods <<< "${METHODS:-grpo opsd grpo_opsd sdpo rlsd}"
for m in "${methods[@]}"; do
  [[ -f $TABLE2/$m.sh && $m != base ]] || _t2_die "METHODS: no recipe recipes/table2/$m.sh (rows: grpo opsd grpo_opsd sdpo rlsd)"
done
# every row saves its final checkpoint, which is what gets evaluated
case $mode in
  cpu | smoke) extra=("trainer.save_freq=${SAVE_FREQ:-$steps}" "${extra[@]}") ;;
  *) extra=("trainer.save_freq=${SAVE_FREQ:-50}" "${extra[@]}") ;;
esac
if [[ $mode == cpu ]]; then
  export ASSETS_DIR=${ASSETS_DIR:-$OUTPUT_ROOT/assets}
fi

failed=()
say() { echo "[reproduce_table2] $*" >&2; }
# run a command, or print it with --dry-run
run() {
  if [[ $dry_run == 1 ]]; then
    printf '%q ' "$@"
    printf '\n'
  else
    "$@"
  fi
}
step_failed() {
  failed+=("$1")
  say "FAILED: $1"
  [[ ${KEEP_GOING:-0} == 1 ]] || exit 1
}

# ---- 1. data ----------------------------------------------------------------------------------
if [[ $mode != cpu ]]; then
  DATA_DIR=${DATA_DIR:-data}
  EVAL_DATA_DIR=${EVAL_DATA_DIR:-data/eval}
  export TRAIN_FILES=${TRAIN_FILES:-$DATA_DIR/mmfinereason_train.parquet}
  export VAL_FILES=${VAL_FILES:-$DATA_DIR/mmfinereason_val.parquet}
  export EVAL_DATA_DIR
  missing=0
  for f in $TRAIN_FILES $VAL_FILES; do [[ -f $f ]] || missing=1; done
  if [[ $missing == 1 ]]; then
    if [[ -n ${MMFINEREASON_INPUT:-} ]]; then
      src=(--input "$MMFINEREASON_INPUT")
    elif [[ ${FROM_HUB:-0} == 1 ]]; then
      src=(--from-hub)
    elif [[ $dry_run == 1 ]]; then
      src=(--from-hub)
    else
      _t2_die "no training data ($TRAIN_FILES, $VAL_FILES): set MMFINEREASON_INPUT to a downloaded copy of OpenDataArena/MMFineReason-SFT-123K-Qwen3-VL-235B-Thinking, or FROM_HUB=1 to download it, or TRAIN_FILES/VAL_FILES to existing parquets"
    fi
    say "1. data: MMFineReason-123K -> $DATA_DIR"
    run "$PYTHON" "$REPO/data_prep/mmfinereason.py" "${src[@]}" --output-dir "$DATA_DIR" \
      --val-fraction "${VAL_FRACTION:-0.004}" --max-pixels "${MAX_PIXELS:-1048576}" --no-progress
  fi
  shopt -s nullglob
  bench=("$EVAL_DATA_DIR"/*.parquet)
  shopt -u nullglob
  if [[ ${#bench[@]} -eq 0 && -z ${EVAL_FILES:-} ]]; then
    if [[ -n ${BENCHMARKS_ROOT:-} ]]; then
      src=(--root "$BENCHMARKS_ROOT")
    elif [[ ${FROM_HUB:-0} == 1 || $dry_run == 1 ]]; then
      src=(--from-hub)
    else
      _t2_die "no benchmark parquets in $EVAL_DATA_DIR: set BENCHMARKS_ROOT to a folder with MMMU/ MathVista/ MathVision/ ZeroBench/ WeMath/, or FROM_HUB=1, or EVAL_DATA_DIR/EVAL_FILES to existing parquets"
    fi
    say "1. data: the five benchmarks -> $EVAL_DATA_DIR"
    run "$PYTHON" "$REPO/data_prep/paper_benchmarks.py" "${src[@]}" --output-dir "$EVAL_DATA_DIR" \
      --max-pixels "${MAX_PIXELS:-1048576}" --no-progress
  fi
fi

# ---- 2. Base LLM ----------------------------------------------------------------------------------
runs=()
if [[ ${SKIP_BASE:-0} != 1 ]]; then
  runs+=("$OUTPUT_ROOT/base")
  if [[ $dry_run == 0 && -f $OUTPUT_ROOT/base/eval/eval.json ]]; then
    say "2. Base LLM: done ($OUTPUT_ROOT/base/eval/eval.json)"
  else
    say "2. Base LLM: evaluation"
    if [[ $dry_run == 1 ]]; then
      EXPERIMENT=base OUTPUT_DIR=$OUTPUT_ROOT/base/eval bash "$TABLE2/base.sh" "${mode_flag[@]}" --dry-run | grep -v '^#'
    else
      EXPERIMENT=base OUTPUT_DIR=$OUTPUT_ROOT/base/eval bash "$TABLE2/base.sh" "${mode_flag[@]}" || step_failed "base: evaluation"
    fi
  fi
fi

# ---- 3. the training rows -----------------------------------------------------------------------
for m in "${methods[@]}"; do
  dir=$OUTPUT_ROOT/$m
  runs+=("$dir")
  if [[ $dry_run == 0 && -f $dir/eval/eval.json ]]; then
    say "3. $m: done ($dir/eval/eval.json)"
    continue
  fi
  # train (verl resumes from $dir/checkpoints if a run was interrupted)
  if [[ $dry_run == 1 ]]; then
    say "3. $m: train"
    OUTPUT_DIR=$dir EXPERIMENT=$m bash "$TABLE2/$m.sh" "${mode_flag[@]}" --dry-run "${extra[@]}" | grep -v '^#'
  elif [[ -f $dir/train.done ]]; then
    say "3. $m: training done ($dir/train.done)"
  else
    say "3. $m: train"
    if OUTPUT_DIR=$dir EXPERIMENT=$m bash "$TABLE2/$m.sh" "${mode_flag[@]}" "${extra[@]}"; then
      date > "$dir/train.done"
    else
      step_failed "$m: training"
      continue
    fi
  fi
  # merge the final checkpoint to Hugging Face format
  if [[ $dry_run == 1 ]]; then
    step_n="\$(cat $dir/checkpoints/latest_checkpointed_iteration.txt)"
    echo "$PYTHON -m verl.model_merger merge --backend fsdp --local_dir $dir/checkpoints/global_step_$step_n/actor --target_dir $dir/hf"
  elif [[ ! -f $dir/hf/config.json ]]; then
    latest=$dir/checkpoints/latest_checkpointed_iteration.txt
    if [[ ! -f $latest ]]; then
      step_failed "$m: no checkpoint ($latest missing; the row must save its final step: SAVE_FREQ)"
      continue
    fi
    step_n=$(tr -d '[:space:]' < "$latest")
    say "3. $m: merge global_step_$step_n -> $dir/hf"
    "$PYTHON" -m verl.model_merger merge --backend fsdp --local_dir "$dir/checkpoints/global_step_$step_n/actor" \
      --target_dir "$dir/hf" || { step_failed "$m: merge"; continue; }
  fi
  # evaluate it like the base model
  say "3. $m: evaluation"
  if [[ $dry_run == 1 ]]; then
    MODEL_PATH=$dir/hf EXPERIMENT=$m OUTPUT_DIR=$dir/eval bash "$TABLE2/base.sh" "${mode_flag[@]}" --dry-run | grep -v '^#\|rlsd_verl.assets'
  else
    MODEL_PATH=$dir/hf EXPERIMENT=$m OUTPUT_DIR=$dir/eval bash "$TABLE2/base.sh" "${mode_flag[@]}" ||
      step_failed "$m: evaluation"
  fi
done

# ---- 4. report ------------------------------------------------------------------------------------
say "4. report -> $OUTPUT_ROOT/report.md"
if [[ $dry_run == 1 ]]; then
  run "$PYTHON" -m rlsd_verl.report "${runs[@]}" --out "$OUTPUT_ROOT/report.md"
else
  present=()
  for r in "${runs[@]}"; do
    # a row that produced neither an evaluation nor a metric log (e.g. failed at start-up) is left out
    if [[ -f $r/eval/eval.json ]] || compgen -G "$r/metrics/*/*.jsonl" > /dev/null; then present+=("$r"); fi
  done
  if [[ ${#present[@]} -gt 0 ]]; then
    "$PYTHON" -m rlsd_verl.report "${present[@]}" --out "$OUTPUT_ROOT/report.md" || step_failed "report"
  fi
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  say "finished with failures: ${failed[*]}"
  exit 1
fi
say "finished: $OUTPUT_ROOT/report.md"
