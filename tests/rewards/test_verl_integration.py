"""``compute_score`` as verl 0.9.1 loads and calls it (config keys, reward_kwargs, validation metrics)."""

from __future__ import annotations

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _compose(overrides):
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        return compose("ppo_trainer", overrides=list(overrides))


@pytest.mark.parametrize(
    "path",
    ["pkg://rlsd_verl.rewards", os.path.join(ROOT, "rlsd_verl", "rewards", "verl_reward.py")],
    ids=["pkg", "file"],
)
def test_loaded_by_verl_with_reward_kwargs(path):
    from verl.trainer.ppo.reward import get_custom_reward_fn

    base = [f"reward.custom_reward_function.path={path}", "reward.custom_reward_function.name=compute_score"]
    fn = get_custom_reward_fn(_compose(base))
    out = fn(data_source="hiyouga/geometry3k", solution_str="\\boxed{5}", ground_truth="5", extra_info={})
    assert out["acc"] == 1.0 and out["score"] == pytest.approx(0.9)  # default format_weight 0.1

    fn = get_custom_reward_fn(_compose(base + ["+reward.custom_reward_function.reward_kwargs.format_weight=0.0"]))
    out = fn(data_source="hiyouga/geometry3k", solution_str="\\boxed{5}", ground_truth="5", extra_info={})
    assert out["score"] == 1.0

    bad = get_custom_reward_fn(_compose(base + ["+reward.custom_reward_function.reward_kwargs.format_weight=2"]))
    with pytest.raises(ValueError, match="format_weight"):
        bad(data_source="x", solution_str="", ground_truth="1", extra_info={})


def test_string_pred_is_fine_for_validation_metrics():
    """verl averages numeric reward_extra_info keys and skips strings; `pred` drives maj@N voting."""
    from verl.trainer.ppo.metric_utils import process_validation_metrics

    from rlsd_verl.rewards import compute_score

    responses = ["\\boxed{5}", "\\boxed{5}", "\\boxed{6}", "nothing", "\\boxed{3}", "\\boxed{3}", "\\boxed{3}", "x"]
    uids = ["q1"] * 4 + ["q2"] * 4
    golds = ["5"] * 4 + ["3"] * 4
    outs = [compute_score("hiyouga/geometry3k", r, g, {"num_turns": 2}, format_weight=0.0) for r, g in zip(responses, golds)]
    infos = {k: [o[k] for o in outs] for k in outs[0]}
    metrics = process_validation_metrics(["hiyouga/geometry3k"] * len(outs), uids, infos)
    m = metrics["hiyouga/geometry3k"]
    assert set(m) == {"score", "acc", "format", "timeout"}  # string keys are skipped, not averaged
    assert m["acc"]["mean@4"] == pytest.approx((2 / 4 + 3 / 4) / 2)
    assert "maj@4/mean" in m["acc"]  # majority voting over `pred`
