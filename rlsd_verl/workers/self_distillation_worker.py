"""The self-distillation worker: verl's ``ActorRolloutRefWorker`` plus a teacher.

RLSD's teacher is the policy itself, conditioned on privileged information. Its weights
(``algorithm.rlsd.teacher``):

* ``sync`` (the paper's): a frozen copy of the actor, re-copied from the actor every
  ``sync_interval`` trainer steps;
* ``frozen``: the initial weights θ₀ forever (the copy is never refreshed);
* ``live``: the actor's current weights; no copy is held.

**The copy is built from the actor's engine settings** (``actor_rollout_ref.actor.*``: strategy,
FSDP mesh and sharding, Ulysses size, mixed-precision dtypes, attention implementation and
remove-padding from the shared model config), made forward-only, with the old-log-prob pass's
batching (``rollout.log_prob_*``); only its weights' dtype is ``algorithm.rlsd.teacher_dtype``
(default: the actor's compute dtype, see :mod:`rlsd_verl.workers.teacher_copy`), so it computes as
the actor's forward does. :meth:`sync_teacher` is a local, shard-by-shard copy (no parameter is
gathered; fp32 → bf16 is cast on the copy). :meth:`init_teacher` checks parameter names, local
shard shapes and the copy's dtype at start-up and names the flag to change. An empty hint gives
Δ ≡ 0 exactly when both passes compute in fp32 (the CPU preset); in bf16 the two passes group
their micro-batches differently and bf16 is not batch-invariant, so Δ carries a small noise
(measured by ``benchmarks/teacher_dtype.py``).

**Memory.** verl 0.9.1 always CPU-offloads a forward-only FSDP engine, whatever
``param_offload`` says: FSDP1 wraps it in ``CPUOffload(offload_params=True)``, FSDP2 in
``CPUOffloadPolicy(pin_memory=True)`` (``verl/workers/engine/fsdp/transformer_impl.py``). The
teacher copy therefore costs no GPU memory between passes but one model's worth of (pinned)
host memory per node, split over its ranks, and every teacher forward streams each rank's
parameter shards host → GPU, once per micro-batch (for an 8B bf16 copy on 8 GPUs: ~2 GB per
rank per micro-batch, ~80 ms at 25 GB/s; an fp32 copy doubles both). ``teacher=live`` holds no
copy and streams nothing. ``python -m rlsd_verl.preflight`` prints these numbers for a run.

**The teacher pass** (:meth:`compute_teacher_advantages`) receives its shard of the batch from
TransferQueue (teacher prompt ids, the student's response ids, the row's own
``multi_modal_inputs``, GRPO's advantage and ``old_log_probs``), assembles the teacher sequences
here (:func:`rlsd_verl.teacher.sequences.assemble_teacher_batch`), runs verl's ``infer_batch``
on them — the engine code, no-padding path, dynamic batching and temperature of the
``old_log_probs`` pass — and computes the token advantage on the spot. It writes back the
advantage (``advantages``/``returns``) and a few per-row metric sums (``rlsd_row_stats``) — plus
the teacher log-probs (``rlsd_teacher_log_probs``) on the steps that dump token credits: the driver
moves no per-token tensor otherwise.
"""

from __future__ import annotations

import logging
from copy import deepcopy

import torch
from omegaconf import open_dict
from tensordict import TensorDict
from verl.single_controller.base.decorator import Dispatch, make_nd_compute_dataproto_dispatch_fn, register
from verl.utils import tensordict_utils as tu
from verl.utils.config import omega_conf_to_dataclass
from verl.workers.engine_workers import ActorRolloutRefWorker, TrainingWorkerConfig
from verl.workers.utils.padding import response_from_nested, response_to_nested

from rlsd_verl.algos.config import TEACHER_MODES
from rlsd_verl.algos.rlsd import thought_span_mask
from rlsd_verl.algos.token_advantage import row_stats
from rlsd_verl.teacher.sequences import assemble_teacher_batch
from rlsd_verl.workers.teacher_copy import TORCH_DTYPES, held_bytes, resolve_teacher_dtype

logger = logging.getLogger(__name__)

def _local(t: torch.Tensor) -> torch.Tensor:
    return t._local_tensor if hasattr(t, "_local_tensor") else t


class SelfDistillationWorker(ActorRolloutRefWorker):
    """``ActorRolloutRefWorker`` + ``init_teacher`` / ``compute_teacher_advantages`` / ``sync_teacher``."""

    def __init__(self, config, role: str, distillation_config=None, **kwargs):
        super().__init__(config, role, distillation_config=distillation_config, **kwargs)
        self.teacher = None
        self.teacher_mode = None
        self.teacher_version = 0  # actor step whose weights the teacher holds (0 = θ₀)
        self.teacher_dtype = None  # short dtype name of the copy's weights (set by init_teacher)
        self._processor_cache = None

    # ------------------------------------------------------------------ building
    def _build_teacher_engine(self):
        """A forward-only copy of the actor's engine (settings: the actor's; batching: old-log-prob's;
        weights in ``self.teacher_dtype``)."""
        model_config = omega_conf_to_dataclass(self.config.model)
        actor_conf = deepcopy(self.config.actor)
        with open_dict(actor_conf):  # the weights: algorithm.rlsd.teacher_dtype (a frozen field once converted)
            actor_conf.fsdp_config.model_dtype = self.teacher_dtype
        teacher_config = omega_conf_to_dataclass(actor_conf)
        teacher_config.model_config = deepcopy(model_config)
        engine = deepcopy(teacher_config.engine)
        engine.forward_only = True  # same mixed precision (compute dtype) as the actor
        engine.use_dynamic_bsz = self.config.rollout.log_prob_use_dynamic_bsz
        engine.infer_max_token_len_per_gpu = self.config.rollout.log_prob_max_token_len_per_gpu
        engine.infer_micro_batch_size_per_gpu = self.config.rollout.log_prob_micro_batch_size_per_gpu
        engine.use_remove_padding = model_config.get("use_remove_padding", False)
        training_config = TrainingWorkerConfig(
            model_type=teacher_config.model_config.get("model_type", "language_model"),
            model_config=teacher_config.model_config,
            engine_config=engine,
            optimizer_config=teacher_config.optim,
            checkpoint_config=teacher_config.checkpoint,
        )
        teacher = self.ref_worker_cls(config=training_config)
        teacher.reset()
        return teacher

    def _matched_params(self) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """``(name, actor shard, teacher shard)`` of every parameter (local shards, ``.data``).

        Raises a start-up error naming the flag to change when the copy's names or local shard shapes differ
        from the actor's, or its dtype is not ``algorithm.rlsd.teacher_dtype``: then a sync would not fit.
        """
        actor = dict(self.actor.engine.module.named_parameters())
        teacher = dict(self.teacher.engine.module.named_parameters())
        fix = (
            "The sync/frozen teacher is built from actor_rollout_ref.actor.* (strategy, fsdp_config, "
            "ulysses_sequence_parallel_size, mixed_precision); if you changed one of those for the teacher, use "
            "algorithm.rlsd.teacher=live instead"
        )
        want = getattr(torch, TORCH_DTYPES[self.teacher_dtype])
        if actor.keys() != teacher.keys():
            only_a = sorted(actor.keys() - teacher.keys())[:5]
            only_t = sorted(teacher.keys() - actor.keys())[:5]
            raise RuntimeError(f"teacher copy and actor have different parameters (actor-only {only_a}, "
                               f"teacher-only {only_t}). {fix}.")
        matched = []
        for name, a_param in actor.items():
            a, t = _local(a_param.data), _local(teacher[name].data)
            if tuple(a.shape) != tuple(t.shape):
                raise RuntimeError(f"teacher shard of {name} is {tuple(t.shape)}, the actor's {tuple(a.shape)}: "
                                   f"the copy must be sharded like the actor. {fix}.")
            if t.dtype != want:
                raise RuntimeError(f"teacher {name} is {t.dtype}, not algorithm.rlsd.teacher_dtype={self.teacher_dtype} "
                                   f"(the actor's is {a.dtype}): verl did not build the copy with model_dtype="
                                   f"{self.teacher_dtype}. Set algorithm.rlsd.teacher_dtype explicitly. {fix}.")
            matched.append((name, a, t))
        return matched

    def _check_teacher_matches_actor(self) -> dict:
        """Names and local shard shapes of the copy equal the actor's, and its dtype is ``teacher_dtype``
        (else a start-up error); returns the copy's and the actor's sizes."""
        matched = self._matched_params()
        return {"params": len(matched), "dtype": str(matched[0][2].dtype) if matched else None,
                "bytes": held_bytes(t for _, _, t in matched), "actor_bytes": held_bytes(a for _, a, _ in matched)}

    @register(dispatch_mode=Dispatch.ONE_TO_ALL)
    def init_teacher(self, mode: str, dtype: str | None = None):
        """Build the teacher for ``mode`` with weights in ``dtype`` (``algorithm.rlsd.teacher_dtype``; None: the
        actor's compute dtype). Call once, after ``init_model``."""
        if mode not in TEACHER_MODES:
            raise ValueError(f"algorithm.rlsd.teacher={mode!r}: expected one of {TEACHER_MODES}")
        if "actor" not in self.role:
            raise RuntimeError(f"the self-distillation teacher lives with the actor; this worker's role is {self.role}")
        self.teacher_mode = mode
        self.teacher_dtype = resolve_teacher_dtype(dtype, self.config.actor)
        checked = {}
        if mode != "live" and self.teacher is None:
            self.teacher = self._build_teacher_engine()
            checked = self._check_teacher_matches_actor()
        return {"mode": mode, "holds_copy": self.teacher is not None, **checked}

    # ------------------------------------------------------------------ the teacher pass
    def _rope_processor(self):
        """The processor with ``get_rope_index`` bound (Qwen-VL), or ``None`` for text models."""
        processor = getattr(omega_conf_to_dataclass(self.config.model), "processor", None)
        return processor if processor is not None and hasattr(processor, "get_rope_index") else None

    @register(dispatch_mode=make_nd_compute_dataproto_dispatch_fn(mesh_name="actor"))
    def compute_teacher_advantages(self, data: TensorDict):
        """Teacher forward over this shard, then the token advantage (see the module docstring)."""
        if self.teacher_mode is None:
            raise RuntimeError("compute_teacher_advantages called before init_teacher")
        params = tu.get_non_tensor_data(data=data, key="rlsd_params", default=None)
        if params is None:
            raise RuntimeError("compute_teacher_advantages needs rlsd_params in the batch's extra_info")
        if self._processor_cache is None:
            self._processor_cache = (self._rope_processor(),)
        batch = assemble_teacher_batch(data, self._processor_cache[0])
        lengths = [int(n) for n in batch["input_ids"].offsets().diff().tolist()]
        tu.assign_non_tensor(
            batch,
            calculate_entropy=False,
            compute_loss=False,
            temperature=tu.get_non_tensor_data(data=data, key="temperature", default=1.0),
            global_token_num=lengths,
        )
        engine = self.actor if self.teacher_mode == "live" else self.teacher
        with torch.no_grad():
            output = engine.infer_batch(batch)
        if output is None:  # not this rank's to return (model-parallel peers)
            return None
        teacher_lp = response_from_nested(output["log_probs"], batch["response_mask"])
        mask = batch["response_mask"]
        pad = lambda t: torch.nested.to_padded_tensor(t, 0.0) if t.is_nested else t  # noqa: E731
        valid = pad(mask).float()
        base = pad(data["advantages"]).float()
        student = pad(data["old_log_probs"]).float()
        teacher = pad(teacher_lp).float()
        kwargs = dict(params["kwargs"])
        if params["method"] == "sdpo":
            kwargs["has_demo"] = pad(data["rlsd_has_demo"]).reshape(-1).bool()
        if params.get("thought_tags"):  # algorithm.rlsd.thought_only
            kwargs["span_mask"] = thought_span_mask(pad(data["responses"]), valid, *params["thought_tags"])
        adv, _keys, stats = row_stats(params["method"], base, teacher, student, valid, **kwargs)
        nested_adv = response_to_nested(adv.float(), mask)
        out = {"advantages": nested_adv, "returns": nested_adv.clone(), "rlsd_row_stats": stats.float()}
        if params.get("keep_teacher_log_probs", False):  # token-credit dumps read them back
            out["rlsd_teacher_log_probs"] = teacher_lp
        return TensorDict(out, batch_size=[len(lengths)])

    # ------------------------------------------------------------------ weights
    @register(dispatch_mode=Dispatch.ONE_TO_ALL)
    def sync_teacher(self, version: int = -1):
        """Copy the actor's weights into the teacher copy, each rank its own shards."""
        if self.teacher is None:
            raise RuntimeError(f"sync_teacher needs a teacher copy; algorithm.rlsd.teacher={self.teacher_mode}")
        copied = 0
        with torch.no_grad():
            for _name, src, dst in self._matched_params():
                dst.copy_(src, non_blocking=False)
                copied += dst.numel()
        self.teacher_version = int(version)
        return {"numel": copied, "version": self.teacher_version}
