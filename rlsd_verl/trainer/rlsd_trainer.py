"""The RLSD trainer: verl 0.9.1's synchronous V1 trainer plus the teacher pass.

Per step (verl's own order, :meth:`PPOTrainer._step_once`): rollout → reward → balance →
``old_log_probs`` → [ref] → **advantage** → actor update. This class changes three places:

* ``_compute_advantage`` — lets verl compute the GRPO advantage A, then runs the teacher pass
  on the self-distillation workers (``timing_s/teacher``), which replace A by the token
  advantage Â_t = A·((1−λ) + λ·clip(exp(sign(A)·(lp_T − lp_S)), 1±ε_w)) where lp_S =
  ``old_log_probs`` (same engine and numerics as the teacher pass). Â goes into verl's
  unchanged PPO loss. Once λ has decayed to 0 the teacher pass is skipped
  (``rlsd/teacher_skipped``): Â = A.

  What the driver does for the teacher pass is O(batch) scalars: it reads each row's teacher
  prompt length (the prompt ids were written by the agent loop, once per prompt, see
  :mod:`rlsd_verl.teacher.agent_loop`), re-balances the rows over data-parallel ranks by the
  *teacher* sequence lengths, calls the workers, and reads back a few per-row metric sums. The
  teacher sequences, the forward and Â are built on the workers from what TransferQueue already
  holds (the row's own ``multi_modal_inputs`` included); no pixel or per-token tensor passes
  through the driver. Exceptions, both small: verl's padding rows (at most dp − 1) get their own
  prompt as teacher prompt, and SDPO, whose privileged context is a sibling's response, builds
  its teacher prompt ids here (token ids only, images never decoded: see ``_sdpo_teacher_prompts``).
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

import torch
import transfer_queue as tq
from tensordict import TensorDict
from transfer_queue import KVBatchMeta
from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync
from verl.utils.config import omega_conf_to_dataclass
from verl.utils.debug import marked_timer

from rlsd_verl.algos.baselines import select_sdpo_demonstrations, select_sdpo_feedback
from rlsd_verl.algos import failure_metrics
from rlsd_verl.algos.config import RLSDConfig
from rlsd_verl.algos.token_advantage import aggregate_row_stats, token_advantages
from rlsd_verl.teacher.fields import (
    TEACHER_INFO_FIELD,
    TEACHER_PROMPT_FIELD,
    info_column,
    teacher_info_row,
    teacher_info_rows,
)
from rlsd_verl.teacher.inputs import TeacherPromptBuilder
from rlsd_verl.teacher.templates import SDPO_FEEDBACK_BLOCK, load_teacher_template
from rlsd_verl.trainer import estimators, token_dump

logger = logging.getLogger(__name__)

#: fields the teacher pass reads on the workers
TEACHER_INPUT_FIELDS = [TEACHER_PROMPT_FIELD, "responses", "response_mask", "multi_modal_inputs", "advantages", "old_log_probs"]


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
        self.actor_rollout_wg.init_teacher(self.rlsd.teacher, self.rlsd.teacher_dtype)
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
    def _method_params(self, lam: float) -> dict:
        kwargs = {"lam": lam, "clip_eps": self.rlsd.clip_eps, "beta": self.rlsd.beta, "opsd_clip": self.rlsd.opsd_clip}
        if self.method == "rlsd":
            kwargs["negative_only"] = self.rlsd.negative_only
        return {"method": self.method, "kwargs": kwargs, "thought_tags": self._thought_tags()}

    def _thought_tags(self):
        """``algorithm.rlsd.thought_only``: the span tags' token ids, for the workers' span mask (else None)."""
        if self.method != "rlsd" or not self.rlsd.thought_only:
            return None
        return [self.tokenizer.encode(t, add_special_tokens=False) for t in (self.rlsd.thought_open, self.rlsd.thought_close)]

    def _metric_keys(self, params: dict) -> list[str]:
        """The metric names the workers' per-row stats hold, in their order."""
        one = torch.ones(1, 1)
        kwargs = dict(params["kwargs"])
        if self.method == "sdpo":
            kwargs["has_demo"] = torch.ones(1, dtype=torch.bool)
        return sorted(token_advantages(self.method, one, one * 0, one * 0, one, **kwargs)[1])

    def _put_own_prompts(self, batch: KVBatchMeta, rows: list[int]) -> None:
        """Rows scored without privileged context: the teacher prompt is the row's own prompt."""
        if not rows:
            return
        keys = [batch.keys[i] for i in rows]
        data = tq.kv_batch_get(keys=keys, partition_id=batch.partition_id, select_fields=["prompts"])
        prompts = [p.to(torch.int64) for p in (data["prompts"].unbind(0) if data["prompts"].is_nested else data["prompts"])]
        info = teacher_info_rows([p.numel() for p in prompts])
        fields = {TEACHER_PROMPT_FIELD: torch.nested.as_nested_tensor(prompts, layout=torch.jagged), TEACHER_INFO_FIELD: info}
        if self.method == "sdpo":
            fields["rlsd_has_demo"] = torch.zeros(len(keys), 1)
        tq.kv_batch_put(keys=keys, partition_id=batch.partition_id, fields=TensorDict(fields, batch_size=len(keys)))

    def _sdpo_teacher_prompts(self, batch: KVBatchMeta) -> None:
        """SDPO: teacher prompt = the prompt + a successful sibling (+ the shortest failure as feedback).

        Built here because the context is another rollout's response. It reads token ids, scores and
        the rows' chat messages; the prompt ids come from the fast path of
        :class:`~rlsd_verl.teacher.inputs.TeacherPromptBuilder` (placeholder runs copied from the
        student's prompt ids), so no image is decoded or processed.
        """
        fields = ["uid", "rm_scores", "responses", "response_mask", "prompts", "raw_prompt"]
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=fields)
        uids = [str(u) for u in _column(data, "uid")]
        scores = [float(data["rm_scores"][i].sum()) for i in range(len(batch))]
        lengths = [int(data["response_mask"][i].sum()) for i in range(len(batch))]
        real = [not t.get("is_padding", False) for t in batch.tags]
        uids = [u if ok else f"__padding_{i}" for i, (u, ok) in enumerate(zip(uids, real))]
        demos = select_sdpo_demonstrations(
            uids, scores, self.rlsd.sdpo_success_threshold, selection=self.rlsd.sdpo_selection,
            lengths=lengths, rng=self.global_steps,
        )
        feedback_rows = select_sdpo_feedback(uids, scores, lengths, self.rlsd.sdpo_success_threshold, include=real)

        def text(i: int) -> str:
            ids = data["responses"][i][: lengths[i]].tolist()
            return self.tokenizer.decode(ids, skip_special_tokens=True)

        prompts, infos, has_demo = [], [], []
        for i, demo in enumerate(demos):
            student = data["prompts"][i].to(torch.int64)
            if demo is None or not real[i]:
                prompts.append(student)
                infos.append(teacher_info_rows(student.numel())[0])
                has_demo.append(0.0)
                continue
            feedback = ""
            if self.rlsd.sdpo_feedback and feedback_rows[i] is not None:
                feedback = SDPO_FEEDBACK_BLOCK.replace("{attempt}", text(feedback_rows[i]))
            built = self.prompt_builder.build(
                list(_row(data, "raw_prompt", i)), text(demo), template=self.sdpo_template.replace("{feedback}", feedback),
                student_prompt_ids=student.tolist(),
            )
            prompts.append(torch.tensor(built.prompt_ids, dtype=torch.int64))
            infos.append(teacher_info_row(built))
            has_demo.append(1.0)
        out = TensorDict(
            {
                TEACHER_PROMPT_FIELD: torch.nested.as_nested_tensor(prompts, layout=torch.jagged),
                TEACHER_INFO_FIELD: torch.stack(infos),
                "rlsd_has_demo": torch.tensor(has_demo).reshape(-1, 1),
            },
            batch_size=len(batch),
        )
        tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id, fields=out)

    def _teacher_meta(self, batch: KVBatchMeta, prompt_lens: list[int], params: dict, metrics: dict) -> KVBatchMeta:
        """The batch re-ordered so each data-parallel rank gets a similar share of *teacher* tokens.

        verl's own ``_balance_batch`` (the one it ran before ``old_log_probs``) on a copy of the batch
        whose tags carry the teacher sequence lengths; the batch is already padded to verl's multiple,
        so it only re-orders (``verl_seams`` checks that it still reads ``tag["seq_len"]``).
        """
        tags = []
        for prompt_len, tag in zip(prompt_lens, batch.tags):
            tags.append({**tag, "prompt_len": prompt_len, "seq_len": prompt_len + int(tag["response_len"])})
        fields = list(TEACHER_INPUT_FIELDS) + (["rlsd_has_demo"] if self.method == "sdpo" else [])
        extra_info = {"temperature": self.config.actor_rollout_ref.rollout.temperature, "rlsd_params": params}
        meta = KVBatchMeta(
            partition_id=batch.partition_id, keys=list(batch.keys), tags=tags, fields=fields, extra_info=extra_info
        )
        balance: dict = {}
        meta = self._balance_batch(meta, balance, logging_prefix="teacher_seqlen")
        if len(meta) != len(batch):
            raise RuntimeError(
                f"verl's _balance_batch padded the teacher batch from {len(batch)} to {len(meta)} rows; it must only "
                "re-order a batch it has already padded (verl changed its balancing)"
            )
        metrics.update({k: v for k, v in balance.items() if k.endswith(("min", "max", "diff", "balanced_max"))})
        return meta

    def _teacher_pass(self, batch: KVBatchMeta, lam: float, keep_teacher_log_probs: bool = False) -> dict[str, float]:
        """Teacher forward + token advantage on the workers; returns the step's metrics."""
        padding = [i for i, t in enumerate(batch.tags) if t.get("is_padding", False)]
        if self.method == "sdpo":
            self._sdpo_teacher_prompts(batch)
        else:
            self._put_own_prompts(batch, padding)
        info = self._padded(batch, [TEACHER_INFO_FIELD])[TEACHER_INFO_FIELD].reshape(len(batch), -1)
        prompt_len = info_column(info, "prompt_len")
        prompt_lens = [int(x) for x in prompt_len.tolist()]

        params, metrics = self._method_params(lam), {}
        params["keep_teacher_log_probs"] = keep_teacher_log_probs
        meta = self._teacher_meta(batch, prompt_lens, params, metrics)
        output = self.actor_rollout_wg.compute_teacher_advantages(meta)
        assert len(output) == len(batch)

        stats = self._padded(batch, ["rlsd_row_stats"])["rlsd_row_stats"].reshape(len(batch), -1)
        real = torch.tensor([not t.get("is_padding", False) for t in batch.tags])
        metrics.update(aggregate_row_stats(self._metric_keys(params), stats, include=real))

        if self.method != "sdpo":
            # the rows that built their prompt's teacher prompt, over the prompts in the batch
            # (verl's keys are "{uid}_{session}_{index}", checked by verl_seams): 1.0 = once per prompt
            uids = {key.rsplit("_", 2)[0] for key, ok in zip(batch.keys, real.tolist()) if ok}
            builds = float(info_column(info, "built")[real].sum())
            metrics[f"{self.method}/teacher_prompt_builds_per_prompt"] = builds / max(1, len(uids))
        student_lens = torch.tensor([float(t["prompt_len"]) for t in batch.tags])
        primed = real & (prompt_len > 0)
        n = max(1, int(primed.sum()))
        mean = lambda column: float(column[primed].sum()) / n  # noqa: E731
        metrics.update(
            {
                f"{self.method}/hint_truncated_frac": mean(info_column(info, "hint_truncated")),
                f"{self.method}/teacher_prompt_len_mean": mean(prompt_len),
                f"{self.method}/teacher_extra_prompt_len_mean": mean(prompt_len - student_lens),
                f"{self.method}/teacher_fast_path_frac": mean(info_column(info, "fast_path")),
            }
        )
        return metrics

    # ------------------------------------------------------------------ token-credit dumps
    def _padded(self, batch: KVBatchMeta, fields: list[str]) -> dict[str, torch.Tensor]:
        """``fields`` of the batch from TransferQueue as dense float tensors (nested rows zero-padded)."""
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=fields)
        return {k: torch.nested.to_padded_tensor(data[k], 0.0).float() if data[k].is_nested else data[k].float() for k in fields}

    def _dump_tokens(self, batch: KVBatchMeta, base: torch.Tensor, lam: float, teacher_ran: bool) -> None:
        """``algorithm.rlsd.dump_tokens``: a diagnostic, off by default, and the only step that reads per-token
        tensors back to the driver (on ``dump_every``-th steps only)."""
        fields = ["advantages", "old_log_probs", "response_mask"] + (["rlsd_teacher_log_probs"] if teacher_ran else [])
        data = self._padded(batch, fields)
        not_padding = torch.tensor([not t.get("is_padding", False) for t in batch.tags], dtype=torch.float32)
        valid = data["response_mask"] * not_padding[:, None]
        token_dump.dump_batch(
            self, batch, base, data.get("rlsd_teacher_log_probs"), data["old_log_probs"], data["advantages"], valid, lam
        )

    # ------------------------------------------------------------------ advantages
    def _compute_advantage(self, batch: KVBatchMeta, metrics: dict) -> KVBatchMeta:
        lam = self._lambda()
        batch = super()._compute_advantage(batch, metrics)  # the base advantage (GRPO or 0)
        dump = token_dump.should_dump(self.global_steps, self.rlsd.dump_tokens, self.rlsd.dump_every)
        base = self._padded(batch, ["advantages"])["advantages"] if dump else None  # A, before the workers' Â
        if self._needs_teacher():
            start = time.perf_counter()
            with marked_timer("teacher", self.timing_raw, color="purple"):
                metrics.update(self._teacher_pass(batch, lam, keep_teacher_log_probs=dump))
            # the teacher pass runs inside verl's "adv" timer; keep timing_s/adv for the advantage alone
            self.timing_raw["adv"] = self.timing_raw.get("adv", 0.0) - (time.perf_counter() - start)
            skipped = 0.0
        else:  # RLSD after λ has decayed to 0: Â = A exactly, as verl wrote it
            metrics["rlsd/lambda"] = 0.0
            skipped = 1.0
        if dump:
            self._dump_tokens(batch, base, lam, teacher_ran=not skipped)
        metrics[f"{self.method}/teacher_skipped"] = skipped
        metrics[f"{self.method}/teacher_version"] = float(self.teacher_version if self.rlsd.teacher == "sync" else 0)
        return batch

    # ------------------------------------------------------------------ metrics
    def _compute_metrics(self, batch: KVBatchMeta, metrics, timing_raw, global_steps, epoch):
        """verl's step metrics plus the failure-mode metrics (:mod:`rlsd_verl.algos.failure_metrics`)."""
        super()._compute_metrics(batch, metrics, timing_raw, global_steps, epoch)
        metrics.update(failure_metrics.finalize_sign_split(metrics, prefix=self.method))
        real = torch.tensor([not t.get("is_padding", False) for t in batch.tags])
        lengths = torch.tensor([float(t["response_len"]) for t in batch.tags])
        scores = self._padded(batch, ["rm_scores"])["rm_scores"].reshape(len(batch), -1).sum(-1)
        metrics.update(failure_metrics.response_outcome_metrics(
            lengths[real], scores[real], int(self.config.data.max_response_length), self.rlsd.sdpo_success_threshold,
        ))

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
