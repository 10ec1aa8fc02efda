#!/usr/bin/env bash
# Table 2, row "Base LLM": Qwen3-VL-8B-Instruct evaluated without training on the five benchmarks.
#
# Reproduces: RLSD paper (arXiv:2604.03128) Table 2, row "Base LLM" (the 4K-response setting).
# Paper numbers: MMMU 62.44 | MathVista 73.80 | MathVision 47.37 | ZeroBench 19.76 | WeMath 54.10 | Avg. 51.49
# Method: no training; verl validation only (recipes/eval/evaluate.sh) over the benchmark parquets
#   of data_prep/paper_benchmarks.py (MMMU val, MathVista testmini, MathVision test, ZeroBench
#   sub-questions, WeMath testmini), 4096/4096 prompt/response tokens, greedy decoding, one response
#   per question, accuracy = the rule-based rlsd_verl.rewards verdict. The paper does not state its
#   eval protocol (splits, decoding, judge): see docs/reproduction.md. The same protocol evaluates
#   the trained rows (recipes/reproduce_table2.sh).
# Hardware: one node with GPUS_PER_NODE [8] GPUs (vLLM, tensor parallel ROLLOUT_TP [1]); --smoke:
#   1 GPU, Qwen3-VL-2B-Instruct, 64 questions; --cpu: CPU only (tiny model, tiny stand-in benchmarks).
# Expected time: not measured on GPUs; estimate ~1–2 h for the ~7,000 questions on 8 H100/H200
#   (mostly 4096-token generations); --smoke ~10–20 min on one H100; --cpu ~2 min on 2 cores.
# Launch:
#   bash recipes/table2/base.sh                      # evaluate MODEL_PATH [Qwen/Qwen3-VL-8B-Instruct]
#   MODEL_PATH=outputs/table2/rlsd/hf RUN_NAME=rlsd OUTPUT_DIR=outputs/table2/rlsd/eval \
#     bash recipes/table2/base.sh                    # the same protocol for a merged checkpoint
#   bash recipes/table2/base.sh --smoke | --cpu | --dry-run
# Inputs (environment): MODEL_PATH; EVAL_DATA_DIR [data/eval] or EVAL_FILES (space-separated
#   parquets); OUTPUT_DIR [outputs/table2/base/eval]; RUN_NAME [base]; GPUS_PER_NODE [8];
#   ROLLOUT_TP [1]; PYTHON [python]; with --cpu: ASSETS_DIR [$OUTPUT_DIR/assets] and CPU_MODEL_PATH
#   [$ASSETS_DIR/qwen2_5_vl] instead of MODEL_PATH and the benchmark files; evaluate.sh's own knobs (VAL_TEMPERATURE, VAL_N, ...) pass
#   through. Extra arguments are Hydra overrides for `python -m rlsd_verl.main` (last one wins).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/common.sh"

mode=full
dry_run=0
extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --cpu | --smoke)
      [[ $mode == full ]] || _t2_die "give at most one of --cpu, --smoke"
      mode=${1#--}
      ;;
    --single-node) ;; # the evaluation always runs on one node
    --dry-run) dry_run=1 ;;
    -h | --help)
      sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    --)
      shift
      extra+=("$@")
      break
      ;;
    --*) _t2_die "unknown option $1 (options: --cpu --smoke --dry-run --help)" ;;
    *) extra+=("$1") ;;
  esac
  shift
done

PYTHON=${PYTHON:-python}
run_name=${RUN_NAME:-base}
output_dir=$(_t2_abs "${OUTPUT_DIR:-outputs/table2/$run_name/eval}")
evaluate=$(cd "$HERE/../eval" && pwd)/evaluate.sh
env_vars=("RUN_NAME=$run_name" "PROJECT=${PROJECT:-rlsd_table2_eval}" "PYTHON=$PYTHON")
prep=()

if [[ $mode == cpu ]]; then
  assets=$(_t2_abs "${ASSETS_DIR:-$output_dir/assets}")
  model=$(_t2_abs "${CPU_MODEL_PATH:-$assets/qwen2_5_vl}")
  bench="$assets/data/bench"
  files=("$bench/mmmu_validation.parquet" "$bench/mathvista_testmini.parquet" "$bench/mathvision_test.parquet"
         "$bench/zerobench_zerobench_subquestions.parquet" "$bench/wemath_testmini.parquet")
  env_vars+=(PRESET=cpu MAX_PROMPT_LENGTH=512 MAX_RESPONSE_LENGTH=16 VAL_BATCH_SIZE=32)
  [[ -d $model ]] || prep+=("$PYTHON -m rlsd_verl.assets --out $assets")
  [[ -f ${files[0]} ]] || prep+=("$PYTHON $HERE/tiny_benchmarks.py --out $bench")
else
  if [[ $mode == smoke ]]; then
    model=${MODEL_PATH:-Qwen/Qwen3-VL-2B-Instruct}
    gpus=${GPUS_PER_NODE:-1}
    extra=(data.val_max_samples=64 "${extra[@]}")
  else
    model=${MODEL_PATH:-Qwen/Qwen3-VL-8B-Instruct}
    gpus=${GPUS_PER_NODE:-8}
  fi
  [[ -e $model ]] && model=$(_t2_abs "$model")
  if [[ -n ${EVAL_FILES:-} ]]; then
    read -r -a files <<< "$EVAL_FILES"
  else
    eval_dir=${EVAL_DATA_DIR:-data/eval}
    shopt -s nullglob
    files=("$eval_dir"/*.parquet)
    shopt -u nullglob
    if [[ ${#files[@]} -eq 0 ]]; then
      hint="set EVAL_FILES or EVAL_DATA_DIR, or build them: python data_prep/paper_benchmarks.py --from-hub --output-dir $eval_dir --max-pixels 1048576"
      [[ $dry_run == 1 ]] && { _t2_note "no benchmark parquet in $eval_dir ($hint)"; files=("$eval_dir/<benchmark>.parquet"); } ||
        _t2_die "EVAL_DATA_DIR: no benchmark parquet in $eval_dir ($hint)"
    fi
  fi
  if [[ $dry_run == 0 ]]; then
    _t2_need_files EVAL_FILES "${files[*]}" "set EVAL_FILES or EVAL_DATA_DIR"
    if [[ ! -e $model ]]; then
      case $model in
        /* | ./* | ../* | "~"*) _t2_die "MODEL_PATH: $model does not exist; set MODEL_PATH to a model folder or a hub id" ;;
      esac
    fi
  fi
  env_vars+=("N_GPUS=$gpus")
  extra=("actor_rollout_ref.rollout.tensor_model_parallel_size=${ROLLOUT_TP:-1}" "${extra[@]}")
  if [[ -n ${ATTN_IMPL:-} ]]; then
    extra=("++actor_rollout_ref.model.override_config.attn_implementation=$ATTN_IMPL" "${extra[@]}")
    [[ $ATTN_IMPL == flash_attention_2 ]] || extra=(actor_rollout_ref.model.use_remove_padding=False "${extra[@]}")
  fi
fi
abs_files=()
for f in "${files[@]}"; do abs_files+=("$(_t2_abs "$f")"); done
env_vars+=("VAL_FILES=${abs_files[*]}")

if [[ $dry_run == 1 ]]; then
  echo "# Base LLM ($mode): evaluate $model; per-benchmark accuracy in $output_dir/eval.json"
  for c in "${prep[@]}"; do echo "$c"; done
  printf '%q ' env "${env_vars[@]}" bash "$evaluate" "$model" "$output_dir" "${extra[@]}"
  printf '\n'
  exit 0
fi

"$PYTHON" -c "import rlsd_verl" 2>/dev/null ||
  _t2_die "PYTHON=$PYTHON cannot import rlsd_verl; set PYTHON to the interpreter of the environment it is installed in"
if [[ $mode == cpu ]]; then
  [[ -d $model ]] || "$PYTHON" -m rlsd_verl.assets --out "$assets" >&2
  [[ -f ${files[0]} ]] || "$PYTHON" "$HERE/tiny_benchmarks.py" --out "$bench" >&2
fi
mkdir -p "$output_dir"
env "${env_vars[@]}" bash "$evaluate" "$model" "$output_dir" "${extra[@]}"
