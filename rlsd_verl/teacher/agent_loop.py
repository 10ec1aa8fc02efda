"""Teacher prompts built in verl's agent loop: once per prompt, next to the student's own rendering.

Why here (and not on the driver, in the dataset, or on the training workers):

* **Once per prompt.** verl's V1 agent-loop worker runs the ``n`` rollouts of one prompt (one
  ``uid``) together in ``_run_prompt``. The teacher prompt depends only on the prompt and its
  privileged text, never on a response, so it is built for the first finished rollout of a
  ``uid`` and reused by its ``n − 1`` siblings (a per-``uid`` cache, dropped when the prompt is
  done). Training workers would see the siblings scattered over data-parallel ranks after
  balancing and build it up to ``n`` times; the dataset would have to decode the images.
* **No image decoded twice.** The agent loop holds the student's rendered prompt ids. The teacher
  prompt is the same chat template with a text block added to the last user turn, so
  :class:`~rlsd_verl.teacher.inputs.TeacherPromptBuilder` renders it as text with one
  placeholder per image and copies each image's placeholder run from the student's ids — no
  pixel is touched (it first checks that this reproduces the student's own ids exactly, and
  otherwise runs the processor on the images the agent loop already decoded).
* **Off the driver, in parallel.** ``rollout.agent.num_workers`` processes build prompts while
  generation runs; the single driver process only reads back one small scalar row per response.

What goes into TransferQueue per response (next to verl's own fields): ``rlsd_teacher_prompt_ids``
(the teacher prompt's token ids) and ``rlsd_teacher_info`` (prompt length, hint truncated, hint
tokens, fast path). The teacher sequence itself (teacher prompt + the student's response ids,
M-RoPE positions) is assembled on the training worker that runs the teacher forward, with the
row's own ``multi_modal_inputs`` (:mod:`rlsd_verl.workers.self_distillation_worker`).

SDPO's privileged context is a sibling's response, known only after all rollouts of the prompt;
its teacher prompts are built by the trainer instead (:mod:`rlsd_verl.trainer.rlsd_trainer`).
"""

from __future__ import annotations

import logging
from typing import Optional

import ray
import torch
from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopManagerTQ, AgentLoopWorkerTQ

from rlsd_verl.teacher.fields import TEACHER_INFO_FIELD, TEACHER_PROMPT_FIELD, teacher_info_row

logger = logging.getLogger(__name__)

#: estimators whose teacher prompt is built in the agent loop (SDPO's needs the siblings)
AGENT_LOOP_METHODS = ("rlsd", "opsd", "grpo_opsd")


def make_prompt_builder(config, tokenizer, processor, dataset_cls=None):
    """The teacher prompt builder for a run's config, or ``None`` when the run needs none here."""
    from rlsd_verl.algos.config import RLSDConfig
    from rlsd_verl.teacher.inputs import TeacherPromptBuilder

    method = str(config.algorithm.adv_estimator)
    if method not in AGENT_LOOP_METHODS:
        return None
    rlsd = RLSDConfig.from_config(config.algorithm)
    hf_model_type = None
    try:
        from verl.utils.config import omega_conf_to_dataclass

        model_type = getattr(omega_conf_to_dataclass(config.actor_rollout_ref.model).hf_config, "model_type", None)
        hf_model_type = model_type if isinstance(model_type, str) else None
    except Exception:  # the builder falls back to a family guess from the tokenizer
        logger.debug("could not read the model type for the teacher prompt builder", exc_info=True)
    return TeacherPromptBuilder(
        tokenizer=tokenizer,
        processor=processor,
        data_config=config.data,
        hf_model_type=hf_model_type,
        template=rlsd.load_teacher_template(),
        max_hint_tokens=rlsd.max_hint_tokens,
        prompt_budget=int(config.data.max_prompt_length) + rlsd.max_hint_tokens,
        dataset_cls=dataset_cls,
        prompt_style=rlsd.teacher_prompt,
    ), rlsd.hint_key


class _RLSDAgentLoopWorker(AgentLoopWorkerTQ.__ray_actor_class__):
    """verl's TransferQueue agent-loop worker + the teacher prompt of each trajectory."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        made = make_prompt_builder(self.config, self.tokenizer, self.processor, self.dataset_cls)
        self._teacher_builder, self._hint_key = made if made is not None else (None, None)
        self._teacher_cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.teacher_prompts_built = 0  # per-uid builds, for tests and logs

    async def _run_prompt(self, prompt: dict, sampling_params: dict, trajectory: dict, trace: bool = False) -> None:
        uid = str(prompt.get("uid"))
        try:
            await super()._run_prompt(prompt, sampling_params, trajectory, trace=trace)
        finally:
            self._teacher_cache.pop(uid, None)

    def _teacher_fields(self, output, kwargs: dict) -> dict[str, torch.Tensor]:
        """The teacher prompt of this trajectory's ``uid`` (built by its first finished sibling)."""
        from rlsd_verl.teacher.inputs import lookup_hint

        uid = str(kwargs["uid"])
        cached = self._teacher_cache.get(uid)
        if cached is None:
            hint = lookup_hint(kwargs, self._hint_key)
            mm = output.multi_modal_data or {}
            built = self._teacher_builder.build(
                list(kwargs["raw_prompt"]),
                hint,
                student_prompt_ids=list(output.prompt_ids),
                images=mm.get("images"),
                videos=mm.get("videos"),
                question=(kwargs.get("extra_info") or {}).get("question"),
            )
            cached = (torch.tensor(built.prompt_ids, dtype=torch.int64), teacher_info_row(built))
            self._teacher_cache[uid] = cached  # no await above: siblings cannot race this
            self.teacher_prompts_built += 1
        return {TEACHER_PROMPT_FIELD: cached[0], TEACHER_INFO_FIELD: cached[1]}

    async def _agent_loop_postprocess(self, output, validate, **kwargs) -> None:
        if self._teacher_builder is not None and not validate:
            outputs = output if isinstance(output, list) else [output]
            if len(outputs) > 1:
                raise NotImplementedError(
                    f"algorithm.adv_estimator={self.config.algorithm.adv_estimator} scores one trajectory per "
                    f"rollout; the agent loop {kwargs.get('agent_name')!r} returned {len(outputs)} outputs."
                )
            if outputs:
                kwargs.update(self._teacher_fields(outputs[0], kwargs))
        return await super()._agent_loop_postprocess(output, validate, **kwargs)

    def get_teacher_prompts_built(self) -> int:
        return self.teacher_prompts_built


RLSDAgentLoopWorkerTQ = ray.remote(_RLSDAgentLoopWorker)


class RLSDAgentLoopManagerTQ(AgentLoopManagerTQ):
    """verl's ``AgentLoopManagerTQ`` whose workers also write the teacher prompts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent_loop_workers_class = RLSDAgentLoopWorkerTQ

    def teacher_prompts_built(self) -> int:
        return sum(ray.get([w.get_teacher_prompts_built.remote() for w in self.agent_loop_workers]))


def manager_class_for(config) -> Optional[type]:
    """The agent-loop manager an RLSD-family run must use (``None``: verl's default is fine)."""
    method = str(config.algorithm.adv_estimator)
    if method not in AGENT_LOOP_METHODS:
        return None
    fqn = (config.actor_rollout_ref.rollout.get("agent", {}) or {}).get("agent_loop_manager_class")
    if fqn:
        from verl.utils.import_utils import load_class_from_fqn

        cls = load_class_from_fqn(fqn, "AgentLoopManager")
        if not (isinstance(cls, type) and issubclass(cls, RLSDAgentLoopManagerTQ)):
            raise ValueError(
                f"actor_rollout_ref.rollout.agent.agent_loop_manager_class={fqn} does not build RLSD's teacher "
                f"prompts; subclass {RLSDAgentLoopManagerTQ.__module__}.RLSDAgentLoopManagerTQ or unset it."
            )
        return cls
    return RLSDAgentLoopManagerTQ

