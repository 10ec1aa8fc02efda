"""The agent-loop side of the teacher pass: one build per prompt, off the event loop, only while needed,
and a clear error for trajectories the teacher pass would get wrong."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import torch
from omegaconf import OmegaConf

from rlsd_verl.algos.config import RLSDConfig
from rlsd_verl.teacher.agent_loop import _RLSDAgentLoopWorker, check_trajectory
from rlsd_verl.teacher.fields import TEACHER_INFO_FIELD, TEACHER_PROMPT_FIELD, info_column
from rlsd_verl.teacher.inputs import TeacherPromptBuilder
from rlsd_verl.teacher.templates import DEFAULT_TEACHER_TEMPLATE


def _worker(tiny_models, synthetic, prompt_length=512, method="rlsd"):
    """The worker's teacher-prompt state on a real builder, without Ray or TransferQueue."""
    from verl.utils import hf_tokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    tok = hf_tokenizer(tiny_models["text"])
    data_cfg = OmegaConf.create({"prompt_key": "prompt", "max_prompt_length": 512, "filter_overlong_prompts": False,
                                 "return_raw_chat": True})
    ds = RLHFDataset(data_files=[synthetic["text"][0]], tokenizer=tok, config=data_cfg, processor=None)
    worker = object.__new__(_RLSDAgentLoopWorker)
    worker.config = OmegaConf.create(
        {"algorithm": {"adv_estimator": method}, "actor_rollout_ref": {"rollout": {"prompt_length": prompt_length}}}
    )
    worker._teacher_builder = TeacherPromptBuilder(tok, None, data_cfg, "qwen2", DEFAULT_TEACHER_TEMPLATE, 64, 576)
    worker._rlsd = RLSDConfig()
    worker._teacher_jobs = {}
    worker._teacher_executor = ThreadPoolExecutor(max_workers=1)
    worker.teacher_prompts_built = 0
    row = ds[0]
    student = TeacherPromptBuilder(tok, None, data_cfg, "qwen2", "{hint}", 64, 576).build(row["raw_prompt"], "").prompt_ids
    kwargs = {"uid": "u0", "raw_prompt": row["raw_prompt"], "reward_model": {"ground_truth": "7"}, "extra_info": {}}
    return worker, kwargs, student


def test_siblings_share_one_build_that_runs_off_the_event_loop(tiny_models, synthetic, monkeypatch):
    worker, kwargs, student = _worker(tiny_models, synthetic)
    threads = []
    real = TeacherPromptBuilder.build
    monkeypatch.setattr(TeacherPromptBuilder, "build",
                        lambda self, *a, **k: threads.append(threading.current_thread()) or real(self, *a, **k))
    output = SimpleNamespace(prompt_ids=student, response_ids=[1, 2, 3], multi_modal_data=None)
    worker._teacher_jobs["u0"] = None

    async def siblings():
        return await asyncio.gather(*[worker._teacher_fields(output, dict(kwargs)) for _ in range(4)])

    fields = asyncio.run(siblings())
    assert worker.teacher_prompts_built == 1 and len(threads) == 1
    assert threads[0] is not threading.main_thread()
    info = torch.stack([f[TEACHER_INFO_FIELD] for f in fields])
    assert info_column(info, "built").tolist() == [1.0, 0.0, 0.0, 0.0]
    assert all(torch.equal(f[TEACHER_PROMPT_FIELD], fields[0][TEACHER_PROMPT_FIELD]) for f in fields)
    assert fields[0][TEACHER_PROMPT_FIELD].numel() > len(student)


def test_no_teacher_prompt_after_lambda_reaches_zero(tiny_models, synthetic):
    worker, _, _ = _worker(tiny_models, synthetic)
    decay = RLSDConfig().decay_steps
    assert worker._step_needs_teacher({"validate": False, "step": 1})
    assert worker._step_needs_teacher({"validate": False, "step": decay})  # update step decay - 1: λ > 0
    assert not worker._step_needs_teacher({"validate": False, "step": decay + 1})  # λ = 0
    assert not worker._step_needs_teacher({"validate": True, "step": 1})
    other, _, _ = _worker(tiny_models, synthetic, method="opsd")
    assert other._step_needs_teacher({"validate": False, "step": 10_000})


def test_a_prompt_verl_left_truncated_is_refused(tiny_models, synthetic):
    worker, kwargs, student = _worker(tiny_models, synthetic, prompt_length=8)
    output = SimpleNamespace(prompt_ids=student[-8:], response_ids=[1], multi_modal_data=None)
    with pytest.raises(ValueError, match="left-truncated by verl"):
        worker._build_teacher_prompt(output, kwargs)
    whole, _, _ = _worker(tiny_models, synthetic, prompt_length=len(student))  # at the limit, not cut
    built = whole._build_teacher_prompt(SimpleNamespace(prompt_ids=student, response_ids=[1], multi_modal_data=None), kwargs)
    assert len(built.prompt_ids) > len(student)


def test_tool_loops_and_responses_with_vision_tokens_are_refused():
    ok = SimpleNamespace(response_ids=[5, 6, 7])
    check_trajectory(ok, "single_turn_agent", (151655,))
    with pytest.raises(NotImplementedError, match="tool_agent"):
        check_trajectory(ok, "tool_agent", ())
    with pytest.raises(NotImplementedError, match="image/video placeholder tokens"):
        check_trajectory(SimpleNamespace(response_ids=[5, 151655, 7]), "single_turn_agent", (151655, 151656))
