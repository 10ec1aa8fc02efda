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
    assert m["actor/grad_norm"] > 0
    # the agent loop built each prompt's teacher prompt once for its rollouts (not once per rollout)
    assert m["rlsd/teacher_prompt_builds_per_prompt"] == 1.0


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
        # the teacher pass must use the rollout temperature as the old-log-prob pass does (else Δ ≠ 0 here)
        "actor_rollout_ref.rollout.temperature=0.7",
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


def test_rlsd_qwen3_vl_real_hint_fast_path_and_images(tmp_path, tiny_models, synthetic):
    """The paper's model family: Qwen3-VL with image prompts and the reference answer as hint."""
    train, val = synthetic["vl"]
    overrides = tiny_run_overrides(tiny_models["qwen3_vl"], train, val, tmp_path, "rlsd_qwen3_vl") + [
        "algorithm.adv_estimator=rlsd",
        "algorithm.rlsd.decay_steps=4",
        "trainer.total_training_steps=2",
    ]
    run = run_trainer(tmp_path, "rlsd_qwen3_vl", overrides)
    assert_ok(run)
    for step in (1, 2):
        m = run.metrics[step]
        _check_rlsd_step(m, rlsd_lambda(step - 1, 0.5, 4))
        assert m["rlsd/teacher_extra_prompt_len_mean"] > 0  # the reference block reached the teacher
        assert m["rlsd/delta_std"] > 1e-4
        assert m["rlsd/teacher_fast_path_frac"] == 1.0  # placeholder runs copied, no image re-processed


def test_rlsd_two_ranks_sync_teacher_equals_actor_right_after_a_sync(tmp_path, tiny_models, synthetic):
    """2 data-parallel ranks (gloo): a sync teacher scores like the actor right after a sync, not between.

    With an empty hint the teacher sees the student's exact sequences, so Δ ≡ 0 exactly when the teacher
    holds the actor's weights: step 1 (both θ₀) and step 3 (synced after update 2); at step 2 the
    teacher still holds θ₀ while the actor moved to θ₁.
    """
    train, val = synthetic["text"]
    overrides = tiny_run_overrides(tiny_models["text"], train, val, tmp_path, "rlsd_2ranks") + EMPTY_HINT + [
        "algorithm.adv_estimator=rlsd",
        "algorithm.rlsd.decay_steps=0",
        "algorithm.rlsd.sync_interval=2",
        "trainer.n_gpus_per_node=2",
        "trainer.total_training_steps=3",
    ]
    run = run_trainer(tmp_path, "rlsd_2ranks", overrides)
    assert_ok(run)
    m = run.metrics
    for step in (1, 3):
        assert abs(m[step]["rlsd/delta_mean"]) < ALIGN and m[step]["rlsd/delta_std"] < ALIGN, (step, m[step]["rlsd/delta_std"])
    assert m[2]["rlsd/delta_std"] > 1e-4
    assert m[3]["rlsd/teacher_version"] == 2.0 and m[2]["rlsd/teacher_version"] == 0.0
