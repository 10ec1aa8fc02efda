"""``negative_only`` / ``thought_only`` and the failure-mode metrics through verl's real trainer on CPU.

* ``negative_only``: the share of reweighted tokens is exactly the share of tokens with A < 0, and the
  failure-mode metrics are in the run's metrics file every step (the workers' partial sums are not);
* ``thought_only`` with tags the tiny model never writes: no token is reweighted (every response lacks
  the span and stays GRPO) although the teacher's Δ is not 0.
"""

from __future__ import annotations

import pytest

from rlsd_verl.algos.failure_metrics import FAILURE_METRIC_KEYS
from tests.conftest import assert_ok, run_trainer, tiny_run_overrides

pytestmark = pytest.mark.e2e


def _run(tmp_path, tiny_models, synthetic, name, extra):
    train, val = synthetic["text"]
    overrides = tiny_run_overrides(tiny_models["text"], train, val, tmp_path, name) + [
        "algorithm.adv_estimator=rlsd",
        "algorithm.rlsd.decay_steps=0",
        "trainer.total_training_steps=2",
    ] + extra
    run = run_trainer(tmp_path, name, overrides)
    assert_ok(run)
    return run.metrics


def test_negative_only_and_failure_metrics(tmp_path, tiny_models, synthetic):
    metrics = _run(tmp_path, tiny_models, synthetic, "rlsd_neg", ["algorithm.rlsd.negative_only=True"])
    for step in (1, 2):
        m = metrics[step]
        assert set(FAILURE_METRIC_KEYS) <= set(m), sorted(set(FAILURE_METRIC_KEYS) - set(m))
        assert not any(k.startswith("rlsd/split_") for k in m)
        assert m["rlsd/reweighted_frac"] == pytest.approx(m["failure/token_frac_neg_adv"], abs=1e-6)
        assert 0.0 <= m["failure/truncated_frac"] <= 1.0 and 0.0 <= m["failure/correct_frac"] <= 1.0
        assert m["failure/response_length_correct"] > 0 or m["failure/response_length_wrong"] > 0


def test_thought_only_without_span_is_grpo(tmp_path, tiny_models, synthetic):
    metrics = _run(
        tmp_path, tiny_models, synthetic, "rlsd_thought",
        ["algorithm.rlsd.thought_only=True", "algorithm.rlsd.thought_open='<thought>'", "algorithm.rlsd.thought_close='</thought>'"],
    )
    for step in (1, 2):
        m = metrics[step]
        assert m["rlsd/delta_std"] > 1e-4  # the teacher pass ran and disagrees with the student
        assert m["rlsd/reweighted_frac"] == 0.0
        assert m["rlsd/multiplier_mean"] == pytest.approx(1.0, abs=1e-7)
        assert m["rlsd/adv_abs_mean_after"] == pytest.approx(m["rlsd/adv_abs_mean_before"], rel=1e-6)
