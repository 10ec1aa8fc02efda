# shellcheck shell=bash
# Shared settings of the RLSD paper's Table 2 runs (arXiv:2604.03128, §5.1), sourced by the row
# scripts in this folder (grpo.sh, opsd.sh, grpo_opsd.sh, sdpo.sh, rlsd.sh); not run directly.
#
# A row script sets, then sources this file and calls `table2_main "$@"`:
#   ROW          the Table 2 row name, e.g. "RLSD (Ours)"
#   METHOD       algorithm.adv_estimator: grpo | opsd | grpo_opsd | sdpo | rlsd
#   ROW_LR       the paper's learning rate for the row (1e-6; 1e-5 for OPSD and SDPO)
#   METHOD_ARGS  array of the row's own Hydra overrides (algorithm.rlsd.*)
#
# Modes (one at most; the default is the paper's run):
#   (none)         4 nodes x 8 GPUs (NNODES=4 GPUS_PER_NODE=8): Qwen3-VL-8B-Instruct, 256 prompts x 8
#                  rollouts, 4096/4096 tokens, 200 steps, validation every 5 steps, vLLM, FSDP2
#   --single-node  the same run on one node (NNODES=1, GPUS_PER_NODE GPUs): same global batch, slower
#   --smoke        1 GPU, Qwen3-VL-2B-Instruct, 8 prompts x 8 rollouts, 2048/2048 tokens, 5 steps
#   --cpu          the CPU backend (preset=cpu) with the tiny offline model and synthetic data built
#                  into $OUTPUT_DIR/assets; 2 steps, 4 prompts x 2 rollouts, toy reward. Same method
#                  flags as the real row (adv_estimator, lr, clip, KL/entropy off, algorithm.rlsd.*)
#   --dry-run      print the command (with the environment it sets) and exit; checks nothing
#   -h | --help    this text
# Every other argument is a Hydra override appended to `python -m rlsd_verl.main` (last one wins),
# e.g. `trainer.total_training_steps=400` or `++algorithm.rlsd.sync_interval=20` (the recipes set
# algorithm.rlsd.* with `++`, which works whether or not rlsd_verl/config/rlsd_trainer.yaml declares
# the key; use `++` for them too). A `--` ends option parsing.
#
# Environment (defaults in brackets; paths are relative to the working directory):
#   NNODES               nodes of the Ray cluster [4; 1 with --single-node/--smoke/--cpu]
#   GPUS_PER_NODE        GPUs per node [8; 1 with --smoke]
#   MODEL_PATH           model folder or hub id [Qwen/Qwen3-VL-8B-Instruct; Qwen/Qwen3-VL-2B-Instruct
#                        with --smoke; ignored with --cpu, see CPU_MODEL]
#   DATA_DIR             folder of the prepared MMFineReason parquets [data]
#   TRAIN_FILES          space-separated training parquets [$DATA_DIR/mmfinereason_train.parquet]
#   VAL_FILES            space-separated validation parquets [$DATA_DIR/mmfinereason_val.parquet]
#                        (TRAIN_FILES/VAL_FILES are ignored with --cpu)
#   EXPERIMENT           trainer.experiment_name [METHOD, plus _single/_smoke/_cpu for the variants]
#   PROJECT              trainer.project_name [rlsd_table2]
#   OUTPUT_DIR           run folder [outputs/table2/$EXPERIMENT]; receives checkpoints/ (verl resumes
#                        from it when rerun: use a new OUTPUT_DIR for a fresh run), metrics/$PROJECT/
#                        $EXPERIMENT.jsonl (verl's file logger), train.log, command.txt, hydra/, and
#                        assets/ with --cpu
#   LOGGER               comma-separated trainer.logger backends [console,file]; add wandb to log there
#   SAVE_FREQ            trainer.save_freq [50; -1 with --smoke/--cpu]
#   MAX_CKPT_TO_KEEP     trainer.max_actor_ckpt_to_keep [2]
#   ROLLOUT_TP           vLLM tensor parallel size [1, as the authors]
#   GPU_MEMORY_UTILIZATION  vLLM's share of GPU memory [0.6, as the authors; 0.5 with --smoke]
#   MAX_TOKEN_LEN_PER_GPU   dynamic-batching token budget per GPU (actor, log-prob and teacher
#                        passes) [16384; must exceed the longest teacher sequence]
#   OFFLOAD              1 = FSDP param + optimizer offload of the actor (as the authors), 0 = off [1]
#   ATTN_IMPL            attention kernel; empty = verl's default flash_attention_2 (needs flash-attn).
#                        ATTN_IMPL=sdpa without flash-attn (also sets use_remove_padding=False, since
#                        verl's Qwen-VL remove-padding path calls flash-attn's varlen kernels; slower)
#   ASSETS_DIR           where --cpu builds/finds the tiny assets [$OUTPUT_DIR/assets]
#   CPU_MODEL_PATH       the model of --cpu [$ASSETS_DIR/qwen2_5_vl, the tiny Qwen2.5-VL]
#   PYTHON               interpreter with rlsd_verl installed [python]
#
# Multi-node: start Ray first (`ray start --head` on node 0, `ray start --address=<node0>:6379` on
# the others), then run the row script on node 0; the trainer joins that cluster.

TABLE2_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_t2_die() {
  echo "error: $*" >&2
  exit 2
}

_t2_note() {
  echo "note: $*" >&2
}

_t2_usage() {
  # the calling script's header, then the shared options above
  sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  echo
  sed -n '2,/^TABLE2_DIR=/p' "$TABLE2_DIR/common.sh" | sed '$d' | sed 's/^# \{0,1\}//'
}

# A local path made absolute (Ray workers need not share the driver's working directory).
_t2_abs() {
  case $1 in
    /*) echo "$1" ;;
    *) echo "$PWD/${1#./}" ;;
  esac
}

# "a b c" -> "[/abs/a,/abs/b,/abs/c]" (a Hydra list of absolute paths)
_t2_list() {
  local -a items out=()
  local f
  read -r -a items <<< "$1"
  for f in "${items[@]}"; do out+=("$(_t2_abs "$f")"); done
  local IFS=,
  echo "[${out[*]}]"
}

# Check each file of a space-separated list; $1 = the variable's name, $2 = its value, $3 = a hint.
_t2_need_files() {
  local name=$1 value=$2 hint=$3 f
  local -a items
  read -r -a items <<< "$value"
  [[ ${#items[@]} -gt 0 ]] || _t2_die "$name is empty; $hint"
  for f in "${items[@]}"; do
    [[ -f "$f" ]] || _t2_die "$name: file not found: $f ($hint)"
  done
}

table2_main() {
  local mode=full dry_run=0
  local -a extra=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --cpu | --smoke | --single-node)
        [[ $mode == full ]] || _t2_die "give at most one of --cpu, --smoke, --single-node (got --$mode and $1)"
        mode=${1#--}
        ;;
      --dry-run) dry_run=1 ;;
      -h | --help)
        _t2_usage
        exit 0
        ;;
      --)
        shift
        extra+=("$@")
        break
        ;;
      --*) _t2_die "unknown option $1 (options: --cpu --smoke --single-node --dry-run --help; Hydra overrides have no leading dashes)" ;;
      *) extra+=("$1") ;;
    esac
    shift
  done

  : "${ROW:?row script must set ROW}" "${METHOD:?row script must set METHOD}" "${ROW_LR:?row script must set ROW_LR}"
  [[ $(declare -p METHOD_ARGS 2>/dev/null) == "declare -a"* ]] || METHOD_ARGS=()

  local suffix=""
  case $mode in
    single-node) suffix=_single ;;
    smoke) suffix=_smoke ;;
    cpu) suffix=_cpu ;;
  esac
  local python=${PYTHON:-python}
  local experiment=${EXPERIMENT:-${METHOD}${suffix}}
  local project=${PROJECT:-rlsd_table2}
  local output_dir=${OUTPUT_DIR:-outputs/table2/$experiment}
  output_dir=$(_t2_abs "$output_dir")
  local logger=${LOGGER:-console,file}
  logger="[${logger// /}]"

  # ---- the paper's settings (§5.1), shared by every mode --------------------------------------
  local -a algo=(
    "algorithm.adv_estimator=$METHOD"
    algorithm.use_kl_in_reward=False
    actor_rollout_ref.actor.optim.lr="$ROW_LR"
    actor_rollout_ref.actor.ppo_epochs=1
    actor_rollout_ref.actor.clip_ratio_low=0.2
    actor_rollout_ref.actor.clip_ratio_high=0.28
    actor_rollout_ref.actor.clip_ratio_c=3.0
    actor_rollout_ref.actor.loss_agg_mode=token-mean
    actor_rollout_ref.actor.use_kl_loss=False
    actor_rollout_ref.actor.entropy_coeff=0
    actor_rollout_ref.rollout.temperature=1.0
    "${METHOD_ARGS[@]}"
  )

  local -a run=()
  local assets="" nnodes gpus
  if [[ $mode == cpu ]]; then
    assets=$(_t2_abs "${ASSETS_DIR:-$output_dir/assets}")
    local model
    model=$(_t2_abs "${CPU_MODEL_PATH:-$assets/qwen2_5_vl}")
    nnodes=1
    gpus=1
    run=(
      preset=cpu
      "data.train_files=$assets/data/vl/train.parquet"
      "data.val_files=$assets/data/vl/val.parquet"
      data.train_batch_size=4
      data.max_prompt_length=256
      data.max_response_length=16
      "actor_rollout_ref.model.path=$model"
      actor_rollout_ref.actor.ppo_mini_batch_size=4
      actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4
      actor_rollout_ref.rollout.n=2
      actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4
      reward.custom_reward_function.path=pkg://rlsd_verl.assets.toy_reward
      reward.custom_reward_function.name=compute_score
      trainer.total_training_steps=2
      trainer.val_before_train=False
      trainer.test_freq=-1
      "trainer.save_freq=${SAVE_FREQ:--1}"
    )
  else
    local model batch n prompt_len response_len steps test_freq save_freq mem
    local -a size=()
    if [[ $mode == smoke ]]; then
      model=${MODEL_PATH:-Qwen/Qwen3-VL-2B-Instruct}
      nnodes=${NNODES:-1}
      gpus=${GPUS_PER_NODE:-1}
      batch=8 n=8 prompt_len=2048 response_len=2048 steps=5 test_freq=5
      save_freq=${SAVE_FREQ:--1}
      mem=${GPU_MEMORY_UTILIZATION:-0.5}
      size=(data.val_max_samples=64)
    else
      model=${MODEL_PATH:-Qwen/Qwen3-VL-8B-Instruct}
      if [[ $mode == single-node ]]; then nnodes=1; else nnodes=${NNODES:-4}; fi
      gpus=${GPUS_PER_NODE:-8}
      # the paper: 256 prompts x 8 rollouts, 4096/4096 tokens, 200 steps, validation every 5 steps
      batch=256 n=8 prompt_len=4096 response_len=4096 steps=200 test_freq=5
      save_freq=${SAVE_FREQ:-50}
      mem=${GPU_MEMORY_UTILIZATION:-0.6}
    fi
    local train_files=${TRAIN_FILES:-${DATA_DIR:-data}/mmfinereason_train.parquet}
    local val_files=${VAL_FILES:-${DATA_DIR:-data}/mmfinereason_val.parquet}
    local offload=True
    [[ ${OFFLOAD:-1} == 0 ]] && offload=False
    local -a attn=()
    if [[ -n ${ATTN_IMPL:-} ]]; then
      attn=("++actor_rollout_ref.model.override_config.attn_implementation=$ATTN_IMPL")
      [[ $ATTN_IMPL == flash_attention_2 ]] || attn+=(actor_rollout_ref.model.use_remove_padding=False)
    fi
    if [[ $dry_run == 0 ]]; then
      local prep="build them with data_prep/mmfinereason.py, see docs/reproduction.md"
      _t2_need_files TRAIN_FILES "$train_files" "set TRAIN_FILES (or DATA_DIR), or $prep"
      _t2_need_files VAL_FILES "$val_files" "set VAL_FILES (or DATA_DIR), or $prep"
      if [[ ! -e $model ]]; then
        case $model in
          /* | ./* | ../* | "~"*) _t2_die "MODEL_PATH: $model does not exist; set MODEL_PATH to a model folder or a hub id" ;;
          *) _t2_note "MODEL_PATH=$model is not a local folder: loading it as a Hugging Face hub id" ;;
        esac
      fi
    fi
    [[ -e $model ]] && model=$(_t2_abs "$model")
    run=(
      "trainer.nnodes=$nnodes"
      "trainer.n_gpus_per_node=$gpus"
      "data.train_files=$(_t2_list "$train_files")"
      "data.val_files=$(_t2_list "$val_files")"
      data.image_key=images
      "data.train_batch_size=$batch"
      "data.max_prompt_length=$prompt_len"
      "data.max_response_length=$response_len"
      data.filter_overlong_prompts=True
      data.truncation=error
      data.shuffle=True
      data.seed=1
      "${size[@]}"
      "actor_rollout_ref.model.path=$model"
      actor_rollout_ref.model.use_remove_padding=True
      actor_rollout_ref.model.enable_gradient_checkpointing=True
      "${attn[@]}"
      actor_rollout_ref.actor.strategy=fsdp2
      actor_rollout_ref.ref.strategy=fsdp2
      actor_rollout_ref.actor.optim.weight_decay=0.01
      actor_rollout_ref.actor.optim.lr_warmup_steps_ratio=0.0
      actor_rollout_ref.actor.grad_clip=1.0
      # one optimizer step per rollout step: the mini-batch is the whole batch
      "actor_rollout_ref.actor.ppo_mini_batch_size=$batch"
      actor_rollout_ref.actor.use_dynamic_bsz=True
      "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=${MAX_TOKEN_LEN_PER_GPU:-16384}"
      "actor_rollout_ref.actor.fsdp_config.param_offload=$offload"
      "actor_rollout_ref.actor.fsdp_config.optimizer_offload=$offload"
      actor_rollout_ref.ref.fsdp_config.param_offload=True
      actor_rollout_ref.rollout.name=vllm
      "actor_rollout_ref.rollout.tensor_model_parallel_size=${ROLLOUT_TP:-1}"
      "actor_rollout_ref.rollout.gpu_memory_utilization=$mem"
      "actor_rollout_ref.rollout.n=$n"
      actor_rollout_ref.rollout.top_p=1.0
      actor_rollout_ref.rollout.top_k=-1
      # validation sampling of the authors' config (Qwen3-VL's Instruct recommendation, n=1)
      actor_rollout_ref.rollout.val_kwargs.do_sample=True
      actor_rollout_ref.rollout.val_kwargs.temperature=0.7
      actor_rollout_ref.rollout.val_kwargs.top_p=0.8
      actor_rollout_ref.rollout.val_kwargs.top_k=20
      actor_rollout_ref.rollout.val_kwargs.n=1
      reward.custom_reward_function.path=pkg://rlsd_verl.rewards
      reward.custom_reward_function.name=compute_score
      "trainer.total_training_steps=$steps"
      "trainer.test_freq=$test_freq"
      trainer.val_before_train=True
      "trainer.save_freq=$save_freq"
    )
  fi
  run+=(
    "${algo[@]}"
    "trainer.max_actor_ckpt_to_keep=${MAX_CKPT_TO_KEEP:-2}"
    "trainer.logger=$logger"
    "trainer.project_name=$project"
    "trainer.experiment_name=$experiment"
    "trainer.default_local_dir=$output_dir/checkpoints"
    "hydra.run.dir=$output_dir/hydra"
    "${extra[@]}"
  )
  local metrics_dir="$output_dir/metrics"
  local -a cmd=("$python" -m rlsd_verl.main "${run[@]}")

  if [[ $dry_run == 1 ]]; then
    echo "# $ROW ($mode): ${METHOD}, $nnodes node(s) x $gpus GPU(s); metrics in $metrics_dir/$project/$experiment.jsonl"
    [[ -n $assets ]] && echo "# --cpu builds the tiny assets first: $python -m rlsd_verl.assets --out $assets"
    printf 'VERL_FILE_LOGGER_ROOT=%q' "$metrics_dir"
    printf ' %q' "${cmd[@]}"
    printf '\n'
    return 0
  fi

  "$python" -c "import rlsd_verl" 2>/dev/null ||
    _t2_die "PYTHON=$python cannot import rlsd_verl; set PYTHON to the interpreter of the environment it is installed in"
  mkdir -p "$output_dir" "$metrics_dir"
  if [[ -n $assets ]]; then
    if [[ ! -f $assets/data/vl/train.parquet || ! -f $assets/data/vl/val.parquet || ! -d $model ]]; then
      echo "building the tiny CPU assets in $assets" >&2
      "$python" -m rlsd_verl.assets --out "$assets" >&2
    fi
  fi
  export VERL_FILE_LOGGER_ROOT
  VERL_FILE_LOGGER_ROOT=$(cd "$metrics_dir" && pwd)
  {
    printf 'VERL_FILE_LOGGER_ROOT=%q' "$VERL_FILE_LOGGER_ROOT"
    printf ' %q' "${cmd[@]}"
    printf '\n'
  } > "$output_dir/command.txt"
  echo "$ROW ($mode): training; log in $output_dir/train.log, metrics in $VERL_FILE_LOGGER_ROOT/$project/$experiment.jsonl" >&2
  "${cmd[@]}" 2>&1 | tee -a "$output_dir/train.log"
}
