"""The RLSD trainer: verl 0.9.1's synchronous V1 trainer plus the teacher pass.

Per step (verl's own order, :meth:`PPOTrainer._step_once`): rollout → reward → balance →
``old_log_probs`` → [ref] → **advantage** → actor update. This class changes three places:

* ``_compute_advantage`` — builds the teacher batch (the student's prompt with the privileged
  block + the student's own response ids, see :mod:`rlsd_verl.teacher.inputs`), runs the
  teacher forward on the self-distillation worker (``timing_s/teacher``), lets verl compute
  the GRPO advantage A, then replaces it with the token advantage
  Â_t = A·((1−λ) + λ·clip(exp(sign(A)·(lp_T − lp_S)), 1±ε_w)) where lp_S = ``old_log_probs``
  (same engine and numerics as the teacher pass). Â goes into verl's unchanged PPO loss.
  Once λ has decayed to 0 the teacher pass is skipped (``rlsd/teacher_skipped``): Â = A.
* ``_update_actor`` — after the update of every ``sync_interval``-th step, the ``sync``
  teacher copies the actor's weights (the paper: "synchronized every 10 steps, frozen in
  between").
* worker class and start-up — the actor role runs
  :class:`~rlsd_verl.workers.self_distillation_worker.SelfDistillationWorker`; after a resume
  the λ schedule continues from verl's restored ``global_steps`` and a ``sync`` teacher is
  re-copied from the restored actor (exact when ``save_freq`` is a multiple of
  ``sync_interval``; otherwise the teacher is ahead of its schedule and a warning says so).

The baselines of the paper's Table 2 use the same teacher pass with another token advantage:
``opsd`` (Â = Δ), ``grpo_opsd`` (Â = A + β·Δ), and ``sdpo`` (Â = Δ, where the teacher's
privileged context is a successful sibling rollout of the same prompt plus, optionally, the
shortest unsuccessful one as feedback; rows without a successful sibling get Â = 0).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch
import transfer_queue as tq
from tensordict import TensorDict
from transfer_queue import KVBatchMeta
from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync
from verl.utils.config import omega_conf_to_dataclass
from verl.utils.debug import marked_timer
from verl.utils.tensordict_utils import list_of_dict_to_tensordict
from verl.workers.utils.padding import response_from_nested, response_to_nested

from rlsd_verl.algos.baselines import (
    compute_grpo_opsd_advantages,
    compute_opsd_advantages,
    compute_sdpo_advantages,
    select_sdpo_demonstrations,
)
from rlsd_verl.algos.config import SDPO_FEEDBACK_BLOCK, RLSDConfig, load_teacher_template
from rlsd_verl.algos.rlsd import compute_rlsd_advantages
from rlsd_verl.teacher.inputs import TeacherPromptBuilder, lookup_hint, teacher_position_ids
from rlsd_verl.trainer import estimators, token_dump

logger = logging.getLogger(__name__)

TEACHER_KEY_PREFIX = "rlsd_teacher::"


def _column(td: TensorDict, key: str) -> list:
    value = td[key]
    if hasattr(value, "tolist"):
        value = value.tolist()
    return list(value)


def _row(td: TensorDict, key: str, i: int):
    value = td[key][i]
    if hasattr(value, "data") and not isinstance(value, torch.Tensor):  # NonTensorData
        value = value.data
    return value


class RLSDTrainer(PPOTrainerSync):
    """``PPOTrainerSync`` with RLSD's teacher pass and token advantage."""

    def __init__(self, config):
        super().__init__(config)
        self.method = str(config.algorithm.adv_estimator)
        if self.method not in estimators.ESTIMATOR_NAMES:
            raise ValueError(f"RLSDTrainer runs {estimators.ESTIMATOR_NAMES}, not {self.method!r}")
        self.rlsd = RLSDConfig.from_config(config.algorithm)
        self.teacher_template = self.rlsd.load_teacher_template()
        self.sdpo_template = load_teacher_template(self.rlsd.sdpo_template, key="sdpo_template")
        self._sdpo_has_demo: torch.Tensor | None = None
        self._prompt_builder: TeacherPromptBuilder | None = None
        self.teacher_version = 0
        estimators.set_trainer_active(True)

    # ------------------------------------------------------------------ set-up
    def _init_resource_pool_mgr(self):
        super()._init_resource_pool_mgr()
        import ray
        from verl.trainer.ppo.utils import Role

        from rlsd_verl.workers.self_distillation_worker import SelfDistillationWorker

        for role in (Role.ActorRolloutRef, Role.ActorRollout, Role.Actor):
            if role in self.role_worker_mapping:
                self.role_worker_mapping[role] = ray.remote(SelfDistillationWorker)

    def _load_checkpoint(self):
        super()._load_checkpoint()
        self.actor_rollout_wg.init_teacher(self.rlsd.teacher)
        if self.global_steps > 0 and self.rlsd.teacher == "sync":
            last_sync = (self.global_steps // self.rlsd.sync_interval) * self.rlsd.sync_interval
            if last_sync != self.global_steps:
                logger.warning(
                    "Resumed at step %d, which is not a multiple of algorithm.rlsd.sync_interval=%d: the teacher is "
                    "re-synced from the restored actor (step %d) instead of the step-%d snapshot. Save checkpoints "
                    "at multiples of sync_interval for an exact resume.",
                    self.global_steps, self.rlsd.sync_interval, self.global_steps, last_sync,
                )
            self._sync_teacher(self.global_steps)

    @property
    def prompt_builder(self) -> TeacherPromptBuilder:
        if self._prompt_builder is None:
            model_config = omega_conf_to_dataclass(self.config.actor_rollout_ref.model)
            hf_model_type = getattr(model_config.hf_config, "model_type", None)
            self._prompt_builder = TeacherPromptBuilder(
                tokenizer=self.tokenizer,
                processor=self.processor,
                data_config=self.config.data,
                hf_model_type=hf_model_type if isinstance(hf_model_type, str) else None,
                template=self.teacher_template,
                max_hint_tokens=self.rlsd.max_hint_tokens,
                prompt_budget=int(self.config.data.max_prompt_length) + self.rlsd.max_hint_tokens,
            )
        return self._prompt_builder

    # ------------------------------------------------------------------ schedule
    def _update_step(self) -> int:
        """Optimizer steps already taken before this update (0 for the first)."""
        return self.global_steps - 1

    def _lambda(self) -> float:
        return self.rlsd.lambda_at(self._update_step()) if self.method == "rlsd" else 0.0

    def _needs_teacher(self) -> bool:
        if self.method == "rlsd":
            return self.rlsd.needs_teacher(self._update_step())
        return True

    def _sync_teacher(self, version: int) -> None:
        self.actor_rollout_wg.sync_teacher(version=version)
        self.teacher_version = version

    # ------------------------------------------------------------------ the teacher pass
    def _sdpo_contexts(self, batch: KVBatchMeta, data: TensorDict) -> list[tuple[str, str] | None]:
        """Per row: (demonstration text, SDPO block) from its siblings, or None without a success."""
        extra = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=["uid", "rm_scores"])
        uids = [str(u) for u in _column(extra, "uid")]
        scores = [float(extra["rm_scores"][i].sum()) for i in range(len(batch))]
        lengths = [int(data["response_mask"][i].sum()) for i in range(len(batch))]
        real = [not t.get("is_padding", False) for t in batch.tags]
        uids = [u if ok else f"__padding_{i}" for i, (u, ok) in enumerate(zip(uids, real))]
        demos = select_sdpo_demonstrations(
            uids, scores, self.rlsd.sdpo_success_threshold, selection=self.rlsd.sdpo_selection,
            lengths=lengths, rng=self.global_steps,
        )
        failures: dict[str, list[int]] = {}
        for i, (uid, score) in enumerate(zip(uids, scores)):
            if real[i] and score < self.rlsd.sdpo_success_threshold:
                failures.setdefault(uid, []).append(i)

        def text(i: int) -> str:
            ids = data["responses"][i][: lengths[i]].tolist()
            return self.tokenizer.decode(ids, skip_special_tokens=True)

        contexts: list[tuple[str, str] | None] = []
        for i, demo in enumerate(demos):
            if demo is None or not real[i]:
                contexts.append(None)
                continue
            feedback = ""
            if self.rlsd.sdpo_feedback:
                others = [j for j in failures.get(uids[i], []) if j != i]
                if others:
                    worst = min(others, key=lambda j: (lengths[j], j))  # the shortest unsuccessful attempt
                    feedback = SDPO_FEEDBACK_BLOCK.replace("{attempt}", text(worst))
            contexts.append((text(demo), self.sdpo_template.replace("{feedback}", feedback)))
        return contexts

    def _teacher_batch(self, batch: KVBatchMeta) -> tuple[list[dict], list[dict], dict[str, float]]:
        hint_root = self.rlsd.hint_key.split(".")[0]
        fields = ["prompts", "responses", "response_mask", "input_ids", "position_ids", "multi_modal_inputs", "raw_prompt"]
        if self.method != "sdpo" and hint_root not in fields:
            fields.append(hint_root)
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=fields)
        sdpo = self._sdpo_contexts(batch, data) if self.method == "sdpo" else None
        if sdpo is not None:
            self._sdpo_has_demo = torch.tensor([c is not None for c in sdpo], dtype=torch.bool)
        rows, tags = [], []
        truncated, prompt_lens, student_lens = 0, [], []
        for i, tag in enumerate(batch.tags):
            responses = data["responses"][i]
            response_mask = data["response_mask"][i]
            mm = _row(data, "multi_modal_inputs", i) or {}
            if tag.get("is_padding", False) or (sdpo is not None and sdpo[i] is None):
                # no privileged context: the teacher scores the student's own sequence
                prompts = data["prompts"][i]
                input_ids = data["input_ids"][i]
                position_ids = data["position_ids"][i]
            else:
                raw_prompt = _row(data, "raw_prompt", i)
                if sdpo is not None:
                    hint, template = sdpo[i]
                else:
                    hint = lookup_hint({hint_root: _row(data, hint_root, i)}, self.rlsd.hint_key)
                    template = None
                built = self.prompt_builder.build(list(raw_prompt), hint, template=template)
                truncated += int(built.hint_truncated)
                prompts = torch.tensor(built.prompt_ids, dtype=torch.int64)
                input_ids = torch.cat([prompts, responses.to(torch.int64)])
                position_ids = teacher_position_ids(self.processor, input_ids, mm)
                prompt_lens.append(len(built.prompt_ids))
                student_lens.append(int(data["prompts"][i].numel()))
            rows.append(
                {
                    "prompts": prompts,
                    "responses": responses,
                    "response_mask": response_mask,
                    "loss_mask": response_mask,
                    "input_ids": input_ids,
                    "attention_mask": torch.ones_like(input_ids, dtype=torch.int64),
                    "position_ids": position_ids,
                    "multi_modal_inputs": mm,
                }
            )
            tags.append(
                {
                    "status": "success",
                    "prompt_len": int(prompts.numel()),
                    "response_len": int(responses.numel()),
                    "seq_len": int(input_ids.numel()),
                    "is_padding": bool(tag.get("is_padding", False)),
                }
            )
        n_real = max(1, len(prompt_lens))
        metrics = {
            f"{self.method}/hint_truncated_frac": truncated / n_real,
            f"{self.method}/teacher_prompt_len_mean": float(np.mean(prompt_lens)) if prompt_lens else 0.0,
            f"{self.method}/teacher_extra_prompt_len_mean": (
                float(np.mean(np.array(prompt_lens) - np.array(student_lens))) if prompt_lens else 0.0
            ),
        }
        return rows, tags, metrics

    def _compute_teacher_log_probs(self, batch: KVBatchMeta) -> tuple[torch.Tensor, dict[str, float]]:
        """Teacher log-probs of each response token, padded to (batch, max_response_len)."""
        rows, tags, metrics = self._teacher_batch(batch)
        keys = [TEACHER_KEY_PREFIX + key for key in batch.keys]
        tq.kv_batch_put(keys=keys, partition_id=batch.partition_id, fields=list_of_dict_to_tensordict(rows), tags=tags)
        try:
            extra_info = dict(batch.extra_info or {})
            extra_info.update(
                {
                    "calculate_entropy": False,
                    "compute_loss": False,
                    "temperature": self.config.actor_rollout_ref.rollout.temperature,
                }
            )
            meta = KVBatchMeta(partition_id=batch.partition_id, keys=keys, tags=tags, extra_info=extra_info)
            output = self.actor_rollout_wg.compute_teacher_log_prob(meta)
            assert len(output) == len(batch)
            out = tq.kv_batch_get(keys=keys, partition_id=batch.partition_id, select_fields=["log_probs", "response_mask"])
            log_probs = response_from_nested(out["log_probs"], out["response_mask"])
        finally:
            tq.kv_clear(keys=keys, partition_id=batch.partition_id)
        return torch.nested.to_padded_tensor(log_probs, 0.0), metrics

    # ------------------------------------------------------------------ advantages
    def _compute_advantage(self, batch: KVBatchMeta, metrics: dict) -> KVBatchMeta:
        lam = self._lambda()
        teacher_lp = None
        if self._needs_teacher():
            start = time.perf_counter()
            with marked_timer("teacher", self.timing_raw, color="purple"):
                teacher_lp, teacher_metrics = self._compute_teacher_log_probs(batch)
            # the teacher pass runs inside verl's "adv" timer; keep timing_s/adv for the advantage alone
            self.timing_raw["adv"] = self.timing_raw.get("adv", 0.0) - (time.perf_counter() - start)
            metrics.update(teacher_metrics)

        batch = super()._compute_advantage(batch, metrics)  # the base advantage (GRPO or 0)

        data = tq.kv_batch_get(
            keys=batch.keys, partition_id=batch.partition_id, select_fields=["advantages", "old_log_probs", "response_mask"]
        )
        nested_mask = data["response_mask"]
        padded = data.to_padded_tensor()
        base = padded["advantages"].float()
        mask = padded["response_mask"].float()
        not_padding = torch.tensor([not t.get("is_padding", False) for t in batch.tags], dtype=torch.float32)
        valid = mask * not_padding[:, None]

        new_adv, method_metrics = self._token_advantages(base, teacher_lp, padded["old_log_probs"].float(), valid, lam)
        # padding rows (no loss tokens) keep verl's values
        new_adv = torch.where(not_padding[:, None].bool(), new_adv, base)
        if token_dump.should_dump(self.global_steps, self.rlsd.dump_tokens, self.rlsd.dump_every):
            token_dump.dump_batch(self, batch, base, teacher_lp, padded["old_log_probs"].float(), new_adv, valid, lam)
        metrics.update(method_metrics)
        metrics[f"{self.method}/teacher_skipped"] = float(teacher_lp is None)
        metrics[f"{self.method}/teacher_version"] = float(self.teacher_version if self.rlsd.teacher == "sync" else 0)

        out = TensorDict(
            {
                "advantages": response_to_nested(new_adv, nested_mask),
                "returns": response_to_nested(new_adv, nested_mask),
            },
            batch_size=len(batch),
        )
        return tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id, fields=out)

    def _token_advantages(self, base, teacher_lp, student_lp, valid, lam) -> tuple[torch.Tensor, dict[str, Any]]:
        if self.method == "rlsd":
            if teacher_lp is None:  # λ = 0: Â = A exactly
                adv = base * valid
                return adv, {"rlsd/lambda": 0.0}
            return compute_rlsd_advantages(base, teacher_lp, student_lp, valid, lam=lam, clip_eps=self.rlsd.clip_eps)
        if self.method == "opsd":
            return compute_opsd_advantages(teacher_lp, student_lp, valid, clip=self.rlsd.opsd_clip)
        if self.method == "grpo_opsd":
            return compute_grpo_opsd_advantages(base, teacher_lp, student_lp, valid, beta=self.rlsd.beta, clip=self.rlsd.opsd_clip)
        if self.method == "sdpo":
            return compute_sdpo_advantages(teacher_lp, student_lp, valid, self._sdpo_has_demo, clip=self.rlsd.opsd_clip)
        raise NotImplementedError(f"algorithm.adv_estimator={self.method} is not implemented by RLSDTrainer yet")

    # ------------------------------------------------------------------ teacher sync
    def _update_actor(self, batch: KVBatchMeta, metrics: dict) -> KVBatchMeta:
        batch = super()._update_actor(batch, metrics)
        if self.rlsd.teacher == "sync" and self.global_steps % self.rlsd.sync_interval == 0:
            # a copy no later step will use is skipped (RLSD after λ has decayed to 0)
            future_needs = self.method != "rlsd" or self.rlsd.needs_teacher(self.global_steps)
            if future_needs:
                with marked_timer("teacher_sync", self.timing_raw, color="purple"):
                    self._sync_teacher(self.global_steps)
        return batch
