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
(the teacher prompt's token ids) and ``rlsd_teacher_info`` (the row of
:data:`~rlsd_verl.teacher.fields.TEACHER_INFO_COLUMNS`). The teacher sequence itself (teacher prompt + the student's response ids,
M-RoPE positions) is assembled on the training worker that runs the teacher forward, with the
row's own ``multi_modal_inputs`` (:mod:`rlsd_verl.workers.self_distillation_worker`).

SDPO's privileged context is a sibling's response, known only after all rollouts of the prompt;
its teacher prompts are built by the trainer instead (:mod:`rlsd_verl.trainer.rlsd_trainer`).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import ray
import torch
from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopManagerTQ, AgentLoopWorkerTQ

from rlsd_verl.teacher.fields import TEACHER_INFO_FIELD, TEACHER_PROMPT_FIELD, teacher_info_row

logger = logging.getLogger(__name__)

#: estimators whose teacher prompt is built in the agent loop (SDPO's needs the siblings)
AGENT_LOOP_METHODS = ("rlsd", "opsd", "grpo_opsd")


#: verl's agent loop that renders tool schemas into the prompt and tool results into the response
TOOL_AGENT_LOOP = "tool_agent"


def make_prompt_builder(config, tokenizer, processor, dataset_cls=None):
    """``(TeacherPromptBuilder, RLSDConfig)`` for a run's config, or ``None`` when the run needs none here."""
    from verl.utils.config import omega_conf_to_dataclass

    from rlsd_verl.algos.config import RLSDConfig
    from rlsd_verl.teacher.inputs import TeacherPromptBuilder

    method = str(config.algorithm.adv_estimator)
    if method not in AGENT_LOOP_METHODS:
        return None
    rlsd = RLSDConfig.from_config(config.algorithm)
    model_type = getattr(omega_conf_to_dataclass(config.actor_rollout_ref.model).hf_config, "model_type", None)
    return TeacherPromptBuilder(
        tokenizer=tokenizer,
        processor=processor,
        data_config=config.data,
        hf_model_type=model_type if isinstance(model_type, str) else None,
        template=rlsd.load_teacher_template(),
        max_hint_tokens=rlsd.max_hint_tokens,
        prompt_budget=int(config.data.max_prompt_length) + rlsd.max_hint_tokens,
        dataset_cls=dataset_cls,
        prompt_style=rlsd.teacher_prompt,
    ), rlsd


def check_trajectory(output, agent_name, media_ids) -> None:
    """Refuse a trajectory whose teacher input the teacher pass would get wrong (a clear error, never silent).

    * tools (verl's ``tool_agent`` loop): the student's prompt holds the tool schema and its response the
      tool results; the teacher prompt is rendered without tools;
    * a response carrying image/video placeholder tokens (a tool returning images): the teacher's M-RoPE
      positions continue the response as text;
    (A text prompt verl left-truncated to ``rollout.prompt_length`` is refused by the build itself.)
    """
    if agent_name == TOOL_AGENT_LOOP:
        raise NotImplementedError(
            f"the teacher pass does not support verl's {TOOL_AGENT_LOOP!r} agent loop (tool schemas in the prompt, "
            "tool results in the response): its teacher prompt would be rendered without tools. Use the "
            "single_turn_agent loop (unset the row's agent_name / rollout.multi_turn tools) for RLSD-family runs."
        )
    if media_ids and not set(output.response_ids).isdisjoint(media_ids):
        raise NotImplementedError(
            "a response holds image/video placeholder tokens (a tool or multi-turn loop returning images); the "
            "teacher pass positions responses as text (M-RoPE), so it would score them at wrong positions. Such "
            "agent loops are not supported with algorithm.adv_estimator in " + str(AGENT_LOOP_METHODS) + "."
        )


class _RLSDAgentLoopWorker(AgentLoopWorkerTQ.__ray_actor_class__):
    """verl's TransferQueue agent-loop worker + the teacher prompt of each trajectory.

    A prompt of a training step that needs the teacher (for RLSD: λ > 0) gets its teacher prompt built
    once, by its first finished rollout, in a one-thread executor (off the event loop: the processor
    fallback can take a while and vLLM's requests keep flowing); its siblings await the same build. The
    info row's ``built`` column is 1 on the row that built it, so the trainer counts builds of rows
    that reached the batch.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        made = make_prompt_builder(self.config, self.tokenizer, self.processor, self.dataset_cls)
        self._teacher_builder, self._rlsd = made if made is not None else (None, None)
        #: uid → the build of its teacher prompt (None until a rollout of it finishes); a uid is only here
        #: while its prompt runs, and only when its step needs a teacher
        self._teacher_jobs: dict[str, Optional[asyncio.Future]] = {}
        self._teacher_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rlsd-teacher-prompt")
        self.teacher_prompts_built = 0  # per-uid builds, for tests and logs

    def _step_needs_teacher(self, trajectory: dict) -> bool:
        if self._teacher_builder is None or trajectory["validate"]:
            return False
        method = str(self.config.algorithm.adv_estimator)
        return method != "rlsd" or self._rlsd.needs_teacher(int(trajectory["step"]) - 1)  # the trainer's update step

    async def _run_prompt(self, prompt: dict, sampling_params: dict, trajectory: dict, trace: bool = False) -> None:
        uid = str(prompt.get("uid"))
        if self._step_needs_teacher(trajectory):
            self._teacher_jobs[uid] = None
        try:
            await super()._run_prompt(prompt, sampling_params, trajectory, trace=trace)
        finally:
            self._teacher_jobs.pop(uid, None)

    def _build_teacher_prompt(self, output, kwargs: dict):
        """The teacher prompt of one ``uid`` (runs in the executor)."""
        from rlsd_verl.teacher.inputs import lookup_hint

        raw_prompt = list(kwargs["raw_prompt"])
        prompt_length = int(self.config.actor_rollout_ref.rollout.prompt_length)
        if len(output.prompt_ids) >= prompt_length:  # verl left-truncates text prompts over the limit
            full = self._teacher_builder.render(raw_prompt)[0]
            if len(full) > len(output.prompt_ids):
                raise ValueError(
                    f"a prompt of {len(full)} tokens was left-truncated by verl to actor_rollout_ref.rollout."
                    f"prompt_length={prompt_length}; the teacher would see the whole prompt. Raise "
                    "data.max_prompt_length / rollout.prompt_length or set data.filter_overlong_prompts=True."
                )
        mm = output.multi_modal_data or {}
        built = self._teacher_builder.build(
            raw_prompt,
            lookup_hint(kwargs, self._rlsd.hint_key),
            student_prompt_ids=list(output.prompt_ids),
            images=mm.get("images"),
            videos=mm.get("videos"),
            question=(kwargs.get("extra_info") or {}).get("question"),
        )
        return built

    async def _teacher_fields(self, output, kwargs: dict) -> dict[str, torch.Tensor]:
        """The teacher prompt of this trajectory's ``uid`` (built by its first finished sibling)."""
        uid = str(kwargs["uid"])
        job = self._teacher_jobs[uid]
        built_here = job is None
        if built_here:
            loop = asyncio.get_running_loop()
            job = loop.run_in_executor(self._teacher_executor, self._build_teacher_prompt, output, kwargs)
            self._teacher_jobs[uid] = job
            self.teacher_prompts_built += 1
        built = await job
        return {
            TEACHER_PROMPT_FIELD: torch.tensor(built.prompt_ids, dtype=torch.int64),
            TEACHER_INFO_FIELD: teacher_info_row(built, built_here=built_here),
        }

    async def _agent_loop_postprocess(self, output, validate, **kwargs) -> None:
        if not validate and str(kwargs.get("uid")) in self._teacher_jobs:
            outputs = output if isinstance(output, list) else [output]
            if len(outputs) > 1:
                raise NotImplementedError(
                    f"algorithm.adv_estimator={self.config.algorithm.adv_estimator} scores one trajectory per "
                    f"rollout; the agent loop {kwargs.get('agent_name')!r} returned {len(outputs)} outputs."
                )
            if outputs:
                check_trajectory(outputs[0], kwargs.get("agent_name"), self._teacher_builder._media)
                kwargs.update(await self._teacher_fields(outputs[0], kwargs))
        return await super()._agent_loop_postprocess(output, validate, **kwargs)


RLSDAgentLoopWorkerTQ = ray.remote(_RLSDAgentLoopWorker)


class RLSDAgentLoopManagerTQ(AgentLoopManagerTQ):
    """verl's ``AgentLoopManagerTQ`` whose workers also write the teacher prompts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent_loop_workers_class = RLSDAgentLoopWorkerTQ


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

