"""The verl 0.9.1 names rlsd-verl relies on, checked at start-up.

rlsd-verl subclasses verl and overrides some of its methods, some private. If a verl release
renamed one of them, the subclass would still import and run — and silently train plain GRPO
(an override nobody calls), never build teacher prompts, or never sync the teacher. So every
name below is checked, and so is each *call* and *data format* we rely on (the method that must
call our override still does; the private attribute we read is still set where we read it);
:func:`check` raises with the list of what is missing. :func:`rlsd_verl.plugin.verify` runs it in
the driver and in the TaskRunner.

Each entry says where rlsd-verl relies on it, so a failing check points at the code to adapt.
"""

from __future__ import annotations

import importlib
import inspect
import re

#: (module, object, attributes that must exist on it)
REQUIRED_ATTRS: list[tuple[str, str, tuple[str, ...]]] = [
    ("verl.trainer.ppo.v1.trainer_sync", "PPOTrainerSync",
     ("_compute_advantage", "_update_actor", "_load_checkpoint", "_init_resource_pool_mgr", "_step_once",
      "_compute_metrics")),
    ("verl.trainer.ppo.v1.trainer_base", "TRAINER_REGISTRY", ()),
    ("verl.trainer.ppo.v1.agent_loop_tq", "AgentLoopWorkerTQ", ()),
    ("verl.trainer.ppo.v1.agent_loop_tq", "AgentLoopManagerTQ", ("create", "_init_agent_loop_workers")),
    ("verl.experimental.agent_loop.agent_loop", "AgentLoopWorker",
     ("_run_agent_loop", "_agent_loop_postprocess", "_compute_position_ids")),
    ("verl.trainer.main_ppo", "TaskRunnerV1", ()),
    ("verl.workers.engine_workers", "ActorRolloutRefWorker", ("init_model", "ref_worker_cls")),
    ("verl.workers.engine_workers", "TrainingWorker", ("infer_batch",)),
    ("verl.workers.engine_workers", "TrainingWorkerConfig", ()),
    ("verl.utils.seqlen_balancing", "get_seqlen_balanced_partitions", ()),
    ("verl.utils.seqlen_balancing", "calculate_workload", ()),
    ("verl.utils.seqlen_balancing", "log_seqlen_unbalance", ()),
    ("verl.workers.utils.padding", "response_from_nested", ()),
    ("verl.workers.utils.padding", "response_to_nested", ()),
    ("verl.utils.tokenizer.continuous_token_wiring", "create_continuous_token_builder", ()),
    ("verl.utils.tokenizer.chat_template", "apply_chat_template", ()),
    ("verl.utils.tokenizer.tokenizer", "build_multimodal_processor_inputs", ()),
    ("verl.utils.tokenizer.tokenizer", "get_processor_token_id", ()),
    ("verl.utils.tokenizer.tokenizer", "normalize_token_ids", ()),
    ("verl.utils.tensordict_utils", "maybe_fix_3d_position_ids", ()),
    # verl_fixes re-binds these modules' imported maybe_fix_3d_position_ids (its call sites)
    ("verl.workers.engine_workers", "maybe_fix_3d_position_ids", ()),
    ("verl.workers.engine.base", "maybe_fix_3d_position_ids", ()),
    # teacher/inputs.py: the slow path decodes a row's images with the dataset's own method
    ("verl.utils.dataset.rl_dataset", "RLHFDataset", ("_process_multi_modal_info",)),
    # teacher/inputs.py: the builder's render and its kwargs (a missing one would fail every fast path)
    ("verl.utils.tokenizer.continuous_token", "ContinuousTokenBuilder", ("build_initial_tokens",)),
    # plugin.py / cpu/rollout.py register the CPU rollout here (GPU runs read it too)
    ("verl.workers.rollout.base", "_ROLLOUT_REGISTRY", ()),
    # trainer/estimators.py wraps it to stop `python -m verl.trainer.main_ppo` running our estimators
    ("verl.utils.config", "validate_config", ()),
    # trainer/rlsd_trainer.py re-balances the teacher pass with verl's own balancer
    ("verl.trainer.ppo.v1.trainer_base", "PPOTrainer", ("_balance_batch",)),
]

#: ray actor classes: their methods live on ``__ray_actor_class__``
ACTOR_METHODS: list[tuple[str, str, tuple[str, ...]]] = [
    ("verl.trainer.ppo.v1.agent_loop_tq", "AgentLoopWorkerTQ", ("_run_prompt", "_agent_loop_postprocess")),
    ("verl.trainer.main_ppo", "TaskRunnerV1", ("init_agent_loop_manager", "run")),
]

#: "module:Object.method" (or "module:function", "module:" for the module) → text its source must contain:
#: the calls our overrides depend on, and the formats and private attributes we read
REQUIRED_CALLS: dict[str, tuple[str, ...]] = {
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer._step_once": (
        "self._compute_advantage(",
        "self._update_actor(",
        "self._compute_old_log_prob(",
    ),
    # trainer/rlsd_trainer.py: the failure-mode metrics are added in our _compute_metrics override
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer.fit": ("self._compute_metrics(",),
    "verl.experimental.agent_loop.agent_loop:AgentLoopWorker._run_agent_loop": ("self._agent_loop_postprocess(",),
    "verl.trainer.ppo.v1.agent_loop_tq:AgentLoopWorkerTQ._run_prompt": ("self._run_agent_loop(",),
    "verl.trainer.main_ppo:TaskRunnerV1.run": ("self.init_agent_loop_manager()", "get_trainer_cls(",),
    # trainer/rlsd_trainer.py: the teacher pass re-uses _balance_batch, which must order by tag["seq_len"]
    # and only pad a batch that is not yet a multiple (the teacher batch already is)
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer._balance_batch": (
        'tag["seq_len"]',
        "upsample_batch_to_divisible_size(",
    ),
    # trainer/rlsd_trainer.py: the builds metric groups TransferQueue keys by the uid before "_{session}_{index}"
    "verl.trainer.ppo.v1.agent_loop_tq:AgentLoopWorkerTQ._agent_loop_postprocess": (
        'keys.append(f"{uid}_{session_id}_{i}")',
    ),
    # teacher/agent_loop.py: RLSDAgentLoopManagerTQ swaps in its worker class and reads the workers
    "verl.trainer.ppo.v1.agent_loop_tq:AgentLoopManagerTQ.__init__": ("self.agent_loop_workers_class = ",),
    "verl.experimental.agent_loop.agent_loop:AgentLoopManager._init_agent_loop_workers": (
        "self.agent_loop_workers_class.options(",
    ),
    # teacher/agent_loop.py: verl left-truncates over-long text prompts here; the teacher refuses such rows
    "verl.experimental.agent_loop.agent_loop:AgentLoopBase.ct_build_initial_tokens": (
        "self._cap_text_prompt_length(prompt_ids)",
    ),
    "verl.experimental.agent_loop.agent_loop:AgentLoopBase._cap_text_prompt_length": ("prompt_ids[-prompt_length:]",),
    # teacher/inputs.py reads the builder's kwargs
    "verl.utils.tokenizer.continuous_token:ContinuousTokenBuilder.__init__": ("self.chat_template_kwargs = ",),
    "verl.utils.tokenizer.continuous_token:VLContinuousTokenMixin.__init__": ("self.mm_processor_kwargs = ",),
    # workers/self_distillation_worker.py reads engine.module of the actor and the teacher copy
    "verl.workers.engine.fsdp.transformer_impl:FSDPEngine._build_model_optimizer": ("self.module = module",),
    "verl.workers.engine_workers:TrainingWorker.__init__": ("self.engine: BaseEngine = EngineRegistry.new(",),
    # verl_fixes.py wraps maybe_fix_3d_position_ids where these call it
    "verl.workers.engine_workers:TrainingWorker.train_mini_batch": ("maybe_fix_3d_position_ids(",),
    "verl.workers.engine.base:BaseEngine.infer_batch": ("maybe_fix_3d_position_ids(",),
    # plugin.py: verl finds rollouts through the registry
    "verl.workers.rollout.base:get_rollout_class": ("_ROLLOUT_REGISTRY[(rollout_name, mode)]",),
    # trainer/estimators.py patches verl.utils.config.validate_config, which main_ppo must import from there
    "verl.trainer.main_ppo:": ("from verl.utils.config import validate_config",),
}

_VLLM = "verl.workers.rollout.vllm_rollout"
#: vLLM-only seams (verl's vLLM package cannot be imported without vLLM): checked where vLLM is installed
VLLM_ATTRS: list[tuple[str, str, tuple[str, ...]]] = [
    # workers/vllm_push.py: the guarded push subclasses verl's sender and adapter and mirrors update_weights
    (f"{_VLLM}.bucketed_weight_transfer", "BucketedWeightSender", ("_init_socket", "async_send_weights")),
    (f"{_VLLM}.vllm_rollout", "ServerAdapter", ("update_weights", "_execute_method")),
    # cpu/vllm_worker.py: CPUWorkerExtension wraps the receiving call
    (f"{_VLLM}.utils", "vLLMColocateWorkerExtension", ("update_weights_from_ipc",)),
]

VLLM_CALLS: dict[str, tuple[str, ...]] = {
    # workers/vllm_push.py: WatchedWeightSender wraps the socket _init_socket sets, where the sender waits
    f"{_VLLM}.bucketed_weight_transfer:BucketedWeightSender._init_socket": ("self.socket = ",),
    f"{_VLLM}.bucketed_weight_transfer:BucketedWeightSender.async_send_weights": (
        "self._init_socket()",
        "self.socket.recv()",
    ),
    # GuardedServerAdapter.update_weights is verl's with the watched sender: these are the lines it mirrors
    f"{_VLLM}.vllm_rollout:ServerAdapter.update_weights": (
        '"update_weights_from_ipc"',
        "non_block=True",
        "BucketedWeightSender(",
        "await sender.async_send_weights(weights)",
        "await future",
        "self.server_handle.clear_kv_cache.remote()",
        "self.server_handle.set_global_steps.remote(global_steps)",
    ),
    # ... and the attributes it reads, set here (non_block returns the Ray ObjectRef it watches)
    f"{_VLLM}.vllm_rollout:ServerAdapter.__init__": (
        "self.zmq_handle = ",
        "self.use_shm = ",
        "self._has_server = ",
        "self.replica_rank = ",
        "self.rollout_rank = ",
    ),
    f"{_VLLM}.vllm_rollout:ServerAdapter._execute_method": ("return future if non_block else await future",),
    # cpu/vllm_worker.py: the BufferError it unmasks comes from this close, in the receiving call
    f"{_VLLM}.bucketed_weight_transfer:BucketedWeightReceiver._cleanup": ("self.shm.close()",),
    f"{_VLLM}.utils:vLLMColocateWorkerExtension.update_weights_from_ipc": ("receiver.receive_weights(",),
    # cpu/rollout.py replaces verl's vLLM adapter in the registry
    "verl.workers.rollout.base:": ('("vllm", "async"): "verl.workers.rollout.vllm_rollout.ServerAdapter"',),
}


def vllm_installed() -> bool:
    """Whether vLLM can be imported here (its seams are checked only then)."""
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


#: "module:Class.method" → the ``self.`` attributes it may read: methods we call unbound with a stand-in ``self``
UNBOUND_CALLS: dict[str, tuple[str, ...]] = {
    # teacher/inputs.py: teacher_position_ids calls it with SimpleNamespace(processor=...)
    "verl.experimental.agent_loop.agent_loop:AgentLoopWorker._compute_position_ids": ("processor",),
}


def _unwrap(obj):
    return getattr(obj, "__ray_actor_class__", obj)


def missing(vllm: bool | None = None) -> list[str]:
    """Human-readable list of every required verl name or call that is not there.

    ``vllm``: also check the vLLM seams (default: where vLLM is installed).
    """
    vllm = vllm_installed() if vllm is None else vllm
    out: list[str] = []
    for module, name, attrs in REQUIRED_ATTRS + ACTOR_METHODS + (VLLM_ATTRS if vllm else []):
        try:
            obj = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            out.append(f"{module}.{name} ({type(exc).__name__})")
            continue
        for attr in attrs:
            if not hasattr(_unwrap(obj), attr):
                out.append(f"{module}.{name}.{attr}")
    for where, texts in {**REQUIRED_CALLS, **(VLLM_CALLS if vllm else {})}.items():
        source, error = _source(where)
        if error:
            out.append(f"{_name(where)} ({error})")
            continue
        out += [f"{_name(where)} no longer calls {text!r}" for text in texts if text not in source]
    for where, allowed in UNBOUND_CALLS.items():
        source, error = _source(where)
        if error:
            out.append(f"{_name(where)} ({error})")
            continue
        extra = sorted(set(re.findall(r"\bself\.([A-Za-z_]\w*)", source)) - set(allowed))
        if extra:
            out.append(f"{_name(where)} now reads self.{', self.'.join(extra)} (called unbound with only {allowed})")
    return out


def _name(where: str) -> str:
    """``module:Object.method`` as the dotted name ``module.Object.method``."""
    return where.rstrip(":").replace(":", ".")


def _source(where: str) -> tuple[str, str]:
    """``(source text, "")`` of ``module:Object.method`` (``module:`` for the module), or ``("", error name)``."""
    module, _, qualname = where.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in filter(None, qualname.split(".")):
            obj = getattr(_unwrap(obj), part)
        return inspect.getsource(obj), ""
    except (ImportError, AttributeError, OSError, TypeError) as exc:
        return "", type(exc).__name__


def check() -> None:
    """Raise if this verl lacks a name or call rlsd-verl overrides or uses."""
    gone = missing()
    if gone:
        import verl

        raise RuntimeError(
            f"rlsd-verl is built on verl 0.9.1 and relies on names this verl ({verl.__version__}) lacks; "
            "running anyway could silently train plain GRPO or never sync the teacher. Missing: "
            + "; ".join(gone)
            + ". Install verl[verl-core]==0.9.1."
        )
