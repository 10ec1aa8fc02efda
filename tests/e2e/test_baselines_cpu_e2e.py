"""The paper's self-distillation baselines through the same trainer and worker, 2 steps each on CPU."""

from __future__ import annotations

import pytest

from tests.conftest import assert_ok, run_trainer, tiny_run_overrides

pytestmark = pytest.mark.e2e


def _run(tmp_path, tiny_models, synthetic, method: str, extra: list[str]):
    train, val = synthetic["text"]
    overrides = tiny_run_overrides(tiny_models["text"], train, val, tmp_path, method) + [
        f"algorithm.adv_estimator={method}",
        "trainer.total_training_steps=2",
        *extra,
    ]
    run = run_trainer(tmp_path, method, overrides)
    assert_ok(run)
    assert set(run.metrics) >= {1, 2}
    return run.metrics


def test_opsd_uses_the_teacher_as_the_whole_advantage(tmp_path, tiny_models, synthetic):
    # OPSD's privileged information: the reference solution, not just the answer
    metrics = _run(tmp_path, tiny_models, synthetic, "opsd", ["algorithm.rlsd.hint_key=extra_info.reference_solution"])
    for step in (1, 2):
        m = metrics[step]
        assert m["opsd/teacher_extra_prompt_len_mean"] > 0 and "timing_s/teacher" in m
        assert m["opsd/delta_std"] > 0 and m["opsd/adv_abs_mean"] > 0  # Â = Δ, no reward needed
        assert m["actor/grad_norm"] > 0
        assert not any(k.startswith("rlsd/") for k in m)


def test_grpo_plus_opsd_adds_beta_delta(tmp_path, tiny_models, synthetic):
    metrics = _run(tmp_path, tiny_models, synthetic, "grpo_opsd", ["algorithm.rlsd.beta=0.5"])
    for step in (1, 2):
        m = metrics[step]
        assert m["grpo_opsd/beta"] == 0.5
        assert m["grpo_opsd/delta_std"] > 0
        assert m["actor/grad_norm"] > 0


def test_sdpo_distills_from_a_successful_sibling(tmp_path, tiny_models, synthetic):
    # the toy reward is dense but mostly near 0 on random tiny models: any positive score counts as a success
    metrics = _run(
        tmp_path, tiny_models, synthetic, "sdpo",
        ["algorithm.rlsd.sdpo_success_threshold=1e-6", "actor_rollout_ref.rollout.n=4"],
    )
    seen_demo = False
    for step in (1, 2):
        m = metrics[step]
        assert 0.0 <= m["sdpo/demo_sample_frac"] <= 1.0
        if m["sdpo/demo_sample_frac"] > 0:
            seen_demo = True
            assert m["sdpo/teacher_extra_prompt_len_mean"] > 0
            assert m["sdpo/adv_abs_mean"] > 0
    assert seen_demo, "no rollout had a successful sibling in two steps"
