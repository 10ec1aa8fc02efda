"""The self-distillation worker: verl's ``ActorRolloutRefWorker`` plus a teacher.

RLSD's teacher is the policy itself, conditioned on privileged information. Its weights
(``algorithm.rlsd.teacher``):

* ``sync`` (the paper's): a frozen copy of the actor, re-copied from the actor every
  ``sync_interval`` trainer steps;
* ``frozen``: the initial weights θ₀ forever (the copy is never refreshed);
* ``live``: the actor's current weights; no copy is held.

The copy is a forward-only FSDP engine built like verl's reference model (same
``actor_rollout_ref.ref`` engine settings, so ``ref.fsdp_config.param_offload=True``
offloads it the same way) and sharded on the same device mesh as the actor, which makes
:meth:`sync_teacher` a local, shard-by-shard copy: no parameter is gathered to one rank.

The teacher pass (:meth:`compute_teacher_log_prob`) runs verl's ``infer_batch`` — the same
engine code, no-padding (nested) path, dynamic batching and temperature as the
``old_log_probs`` pass — on the teacher batch the trainer put into TransferQueue.
"""

from __future__ import annotations

import logging
from copy import deepcopy

import torch
from omegaconf import open_dict
from verl.single_controller.base.decorator import Dispatch, make_nd_compute_dataproto_dispatch_fn, register
from verl.utils.config import omega_conf_to_dataclass
from verl.workers.engine_workers import ActorRolloutRefWorker, TrainingWorkerConfig

logger = logging.getLogger(__name__)

TEACHER_MODES = ("sync", "frozen", "live")


def _local(t: torch.Tensor) -> torch.Tensor:
    return t._local_tensor if hasattr(t, "_local_tensor") else t


class SelfDistillationWorker(ActorRolloutRefWorker):
    """``ActorRolloutRefWorker`` + ``init_teacher`` / ``compute_teacher_log_prob`` / ``sync_teacher``."""

    def __init__(self, config, role: str, distillation_config=None, **kwargs):
        super().__init__(config, role, distillation_config=distillation_config, **kwargs)
        # verl's init_model pops keys from config.ref; keep a pristine copy for the teacher.
        self._teacher_ref_conf = deepcopy(config.ref)
        self.teacher = None
        self.teacher_mode = None
        self.teacher_version = 0  # actor step whose weights the teacher holds (0 = θ₀)

    # ------------------------------------------------------------------ building
    def _build_teacher_engine(self):
        conf = self._teacher_ref_conf
        model_config = omega_conf_to_dataclass(self.config.model)
        with open_dict(conf):
            conf.ppo_mini_batch_size = self.config.actor.ppo_mini_batch_size
            # the teacher pass mirrors the old-log-prob pass: take the rollout's inference batching
            conf.ppo_micro_batch_size = None
            conf.ppo_micro_batch_size_per_gpu = self.config.rollout.log_prob_micro_batch_size_per_gpu
            conf.use_dynamic_bsz = self.config.rollout.log_prob_use_dynamic_bsz
            conf.ppo_max_token_len_per_gpu = self.config.rollout.log_prob_max_token_len_per_gpu
            for key in (
                "log_prob_micro_batch_size",
                "log_prob_micro_batch_size_per_gpu",
                "log_prob_use_dynamic_bsz",
                "log_prob_max_token_len_per_gpu",
            ):
                conf.pop(key, None)
        teacher_config = omega_conf_to_dataclass(conf)
        teacher_config.model_config = deepcopy(model_config)
        training_config = TrainingWorkerConfig(
            model_type=teacher_config.model_config.get("model_type", "language_model"),
            model_config=teacher_config.model_config,
            engine_config=teacher_config.engine,
            optimizer_config=teacher_config.optim,
            checkpoint_config=teacher_config.checkpoint,
        )
        training_config.engine_config.use_dynamic_bsz = conf.use_dynamic_bsz
        training_config.engine_config.infer_max_token_len_per_gpu = conf.ppo_max_token_len_per_gpu
        training_config.engine_config.infer_micro_batch_size_per_gpu = conf.ppo_micro_batch_size_per_gpu
        training_config.engine_config.use_remove_padding = model_config.get("use_remove_padding", False)
        teacher = self.ref_worker_cls(config=training_config)
        teacher.reset()
        return teacher

    @register(dispatch_mode=Dispatch.ONE_TO_ALL)
    def init_teacher(self, mode: str):
        """Build the teacher for ``mode`` (call once, after ``init_model``)."""
        if mode not in TEACHER_MODES:
            raise ValueError(f"algorithm.rlsd.teacher={mode!r}: expected one of {TEACHER_MODES}")
        if "actor" not in self.role:
            raise RuntimeError(f"the self-distillation teacher lives with the actor; this worker's role is {self.role}")
        self.teacher_mode = mode
        if mode != "live" and self.teacher is None:
            self.teacher = self._build_teacher_engine()
        return {"mode": mode, "holds_copy": self.teacher is not None}

    # ------------------------------------------------------------------ the teacher pass
    @register(dispatch_mode=make_nd_compute_dataproto_dispatch_fn(mesh_name="actor"))
    def compute_teacher_log_prob(self, data):
        """No-grad log-probs of the teacher batch (privileged prompt + the student's response)."""
        if self.teacher_mode is None:
            raise RuntimeError("compute_teacher_log_prob called before init_teacher")
        engine = self.actor if self.teacher_mode == "live" else self.teacher
        with torch.no_grad():
            output = engine.infer_batch(data)
        return output.cpu() if output is not None else None

    # ------------------------------------------------------------------ weights
    @register(dispatch_mode=Dispatch.ONE_TO_ALL)
    def sync_teacher(self, version: int = -1):
        """Copy the actor's weights into the teacher copy, each rank its own shards."""
        if self.teacher is None:
            raise RuntimeError(f"sync_teacher needs a teacher copy; algorithm.rlsd.teacher={self.teacher_mode}")
        actor_params = dict(self.actor.engine.module.named_parameters())
        teacher_params = dict(self.teacher.engine.module.named_parameters())
        if actor_params.keys() != teacher_params.keys():
            only_a = sorted(actor_params.keys() - teacher_params.keys())[:5]
            only_t = sorted(teacher_params.keys() - actor_params.keys())[:5]
            raise RuntimeError(f"actor and teacher parameters differ: actor-only {only_a}, teacher-only {only_t}")
        copied = 0
        with torch.no_grad():
            for name, t_param in teacher_params.items():
                src, dst = _local(actor_params[name].data), _local(t_param.data)
                if src.shape != dst.shape:
                    raise RuntimeError(
                        f"cannot sync {name}: actor shard {tuple(src.shape)} vs teacher shard {tuple(dst.shape)} "
                        "(the teacher must be sharded like the actor)"
                    )
                dst.copy_(src, non_blocking=False)
                copied += dst.numel()
        self.teacher_version = int(version)
        return {"numel": copied, "version": self.teacher_version}

    @register(dispatch_mode=Dispatch.ONE_TO_ALL)
    def teacher_state_checksum(self) -> dict:
        """Per-parameter sums of the local shards of actor and teacher (for tests / debugging)."""
        def sums(module):
            return {n: float(_local(p.data).double().sum()) for n, p in module.named_parameters()}

        out = {"actor": sums(self.actor.engine.module)}
        if self.teacher is not None:
            out["teacher"] = sums(self.teacher.engine.module)
        return out
