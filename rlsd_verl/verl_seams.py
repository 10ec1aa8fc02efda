"""The verl 0.9.1 names rlsd-verl relies on, checked at start-up.

rlsd-verl subclasses verl and overrides some of its methods, some private. If a verl release
renamed one of them, the subclass would still import and run — and silently train plain GRPO
(an override nobody calls), never build teacher prompts, or never sync the teacher. So every
name below is checked, and so is each *call* we rely on (the method that must call our
override still does); :func:`check` raises with the list of what is missing.
:func:`rlsd_verl.plugin.verify` runs it in the driver and in the TaskRunner.
"""

from __future__ import annotations

import importlib
import inspect

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
]

#: ray actor classes: their methods live on ``__ray_actor_class__``
ACTOR_METHODS: list[tuple[str, str, tuple[str, ...]]] = [
    ("verl.trainer.ppo.v1.agent_loop_tq", "AgentLoopWorkerTQ", ("_run_prompt", "_agent_loop_postprocess")),
    ("verl.trainer.main_ppo", "TaskRunnerV1", ("init_agent_loop_manager", "run")),
]

#: (module, object, method, text its source must contain): the calls our overrides depend on
REQUIRED_CALLS: list[tuple[str, str, str, str]] = [
    ("verl.trainer.ppo.v1.trainer_base", "PPOTrainer", "_step_once", "self._compute_advantage("),
    ("verl.trainer.ppo.v1.trainer_base", "PPOTrainer", "_step_once", "self._update_actor("),
    ("verl.trainer.ppo.v1.trainer_base", "PPOTrainer", "fit", "self._compute_metrics("),
    ("verl.trainer.ppo.v1.trainer_base", "PPOTrainer", "_step_once", "self._compute_old_log_prob("),
    ("verl.experimental.agent_loop.agent_loop", "AgentLoopWorker", "_run_agent_loop", "self._agent_loop_postprocess("),
    ("verl.trainer.ppo.v1.agent_loop_tq", "AgentLoopWorkerTQ", "_run_prompt", "self._run_agent_loop("),
    ("verl.trainer.main_ppo", "TaskRunnerV1", "run", "self.init_agent_loop_manager()"),
    ("verl.trainer.main_ppo", "TaskRunnerV1", "run", "get_trainer_cls("),
]


def _unwrap(obj):
    return getattr(obj, "__ray_actor_class__", obj)


def missing() -> list[str]:
    """Human-readable list of every required verl name or call that is not there."""
    out: list[str] = []
    for module, name, attrs in REQUIRED_ATTRS + ACTOR_METHODS:
        try:
            obj = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            out.append(f"{module}.{name} ({type(exc).__name__})")
            continue
        for attr in attrs:
            if not hasattr(_unwrap(obj), attr):
                out.append(f"{module}.{name}.{attr}")
    for module, name, method, text in REQUIRED_CALLS:
        try:
            fn = getattr(_unwrap(getattr(importlib.import_module(module), name)), method)
            source = inspect.getsource(fn)
        except (ImportError, AttributeError, OSError, TypeError) as exc:
            out.append(f"{module}.{name}.{method} ({type(exc).__name__})")
            continue
        if text not in source:
            out.append(f"{module}.{name}.{method} no longer calls {text!r}")
    return out


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
