"""``python -m rlsd_verl.main algorithm.adv_estimator=rlsd`` end to end on the CPU backend.

Three runs of verl's real trainer with the RLSD trainer and the self-distillation worker:

* text, the paper's teacher (hint = ground-truth answer), 2 steps, checkpoint at step 2;
* text again, resumed from that checkpoint to step 3 with an *empty* hint and the template
  ``{hint}``: the λ schedule continues, and the teacher (re-synced from the restored actor)
  scores exactly the student's sequences, so Δ = 0 — the alignment check;
* tiny Qwen2.5-VL on image prompts with the empty hint (alignment with images and M-RoPE),
  λ decaying to 0 after one step so the teacher pass is skipped afterwards.
"""

from __future__ import annotations

import pytest

from rlsd_verl.algos.rlsd import rlsd_lambda
from tests.conftest import assert_ok, run_trainer, tiny_run_overrides

pytestmark = pytest.mark.e2e

ALIGN = 1e-5  # fp32: identical inputs through the same engine give identical log-probs
EMPTY_HINT = ["algorithm.rlsd.hint_key=extra_info.subfield", "algorithm.rlsd.teacher_template='{hint}'"]


def _check_rlsd_step(m: dict, lam: float, eps: float = 0.2) -> None:
    assert m["rlsd/teacher_skipped"] == 0.0
    assert m["rlsd/lambda"] == pytest.approx(lam)
    assert "timing_s/teacher" in m and m["timing_s/teacher"] > 0
    # |Â| / |A| lies in [1 − λε, 1 + λε]; so does the mean multiplier
    lo, hi = 1 - lam * eps, 1 + lam * eps
    assert lo - 1e-6 <= m["rlsd/multiplier_mean"] <= hi + 1e-6
    ratio = m["rlsd/adv_abs_mean_after"] / m["rlsd/adv_abs_mean_before"]
    assert lo - 1e-6 <= ratio <= hi + 1e-6
    assert 0.0 <= m["rlsd/clip_frac"] <= 1.0
    assert m["actor/grad_norm"] > 0


@pytest.fixture(scope="module")
def text_runs(tmp_path_factory, tiny_models, synthetic):
    out = tmp_path_factory.mktemp("rlsd_text")
    train, val = synthetic["text"]
    base = tiny_run_overrides(tiny_models["text"], train, val, out, "rlsd_text") + [
        "algorithm.adv_estimator=rlsd",
        "algorithm.rlsd.decay_steps=4",
        "algorithm.rlsd.sync_interval=1",
        "trainer.save_freq=2",
    ]
    first = run_trainer(out, "rlsd_text", base + ["trainer.total_training_steps=2"])
    assert_ok(first)
    first_metrics = first.metrics
    resumed = run_trainer(out, "rlsd_text", base + EMPTY_HINT + ["trainer.total_training_steps=3"])
    assert_ok(resumed)
    return first_metrics, resumed


def test_rlsd_text_metrics_and_bounds(text_runs):
    metrics, _ = text_runs
    for step in (1, 2):
        _check_rlsd_step(metrics[step], rlsd_lambda(step - 1, 0.5, 4))
        # the reference answer in the teacher's context changes its log-probs
        assert metrics[step]["rlsd/delta_std"] > 1e-4
        assert metrics[step]["rlsd/teacher_extra_prompt_len_mean"] > 0
    # sync_interval=1: the step-2 teacher holds the weights after update 1
    assert metrics[1]["rlsd/teacher_version"] == 0.0
    assert metrics[2]["rlsd/teacher_version"] == 1.0
    assert "timing_s/teacher_sync" in metrics[1]


def test_rlsd_resume_continues_lambda_and_empty_hint_aligns(text_runs):
    _, resumed = text_runs
    assert "Resuming from" in resumed.log or "global_step_2" in resumed.log
    m = resumed.metrics[3]
    _check_rlsd_step(m, rlsd_lambda(2, 0.5, 4))  # 0.25: the schedule went on from step 2
    # empty hint + student template: teacher log-probs equal the old log-probs
    assert abs(m["rlsd/delta_mean"]) < ALIGN and m["rlsd/delta_std"] < ALIGN
    assert m["rlsd/teacher_extra_prompt_len_mean"] == 0.0
    assert m["rlsd/multiplier_mean"] == pytest.approx(1.0, abs=ALIGN)


def test_rlsd_qwen2_5_vl_alignment_and_skip_after_decay(tmp_path, tiny_models, synthetic):
    train, val = synthetic["vl"]
    overrides = tiny_run_overrides(tiny_models["qwen2_5_vl"], train, val, tmp_path, "rlsd_vl") + EMPTY_HINT + [
        "algorithm.adv_estimator=rlsd",
        "algorithm.rlsd.decay_steps=1",
        "trainer.total_training_steps=3",
    ]
    run = run_trainer(tmp_path, "rlsd_vl", overrides)
    assert_ok(run)
    m1 = run.metrics[1]
    _check_rlsd_step(m1, 0.5)
    assert abs(m1["rlsd/delta_mean"]) < ALIGN and m1["rlsd/delta_std"] < ALIGN, (m1["rlsd/delta_mean"], m1["rlsd/delta_std"])
    for step in (2, 3):  # λ = 0 from the second update on: no teacher pass, Â = A
        m = run.metrics[step]
        assert m["rlsd/teacher_skipped"] == 1.0
        assert m["rlsd/lambda"] == 0.0
        assert "timing_s/teacher" not in m
        assert m["actor/grad_norm"] > 0
