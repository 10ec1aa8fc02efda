"""The dense toy reward used by tests and the CPU demo (not a benchmark scorer)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlsd_verl.assets.toy_reward import compute_score, extract_answer


def test_exact_answer_scores_acc_one():
    right = compute_score("rlsd_verl/synthetic_text", "<think>3 + 4 = 7</think> \\boxed{7}", "7")
    wrong = compute_score("rlsd_verl/synthetic_text", "<think>3 + 4 = 8</think> \\boxed{8}", "7")
    assert right["acc"] == 1.0 and wrong["acc"] == 0.0
    assert right["score"] > 0.6 > wrong["score"]
    assert set(right) == {"score", "acc"}


@pytest.mark.parametrize(
    "response, gt, acc",
    [
        ("\\boxed{ C. }", "C", 1.0),
        ("\\boxed{c}", "C", 1.0),
        ("<answer>12</answer>", "12", 1.0),
        ("so the answer is 12", "12", 1.0),
        ("\\boxed{1} then \\boxed{12}", "12", 1.0),  # last box counts
        ("\\boxed{12} then \\boxed{1}", "12", 0.0),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", 1.0),
        ("", "7", 0.0),
    ],
)
def test_extraction_and_acc(response, gt, acc):
    assert compute_score("x", response, gt)["acc"] == acc


def test_list_ground_truth_and_numbers():
    assert compute_score("x", "\\boxed{24/7}", ["3.429", "24/7"])["acc"] == 1.0
    assert compute_score("x", "\\boxed{7}", 7)["acc"] == 1.0


def test_dense_on_random_text():
    """Random strings (what a tiny random model emits) must not all get the same score."""
    rng = random.Random(0)
    alphabet = "abcdefghij0123456789 <>/{}\\"
    scores = {compute_score("x", "".join(rng.choice(alphabet) for _ in range(30)), "17")["score"] for _ in range(20)}
    assert len(scores) > 10
    assert compute_score("x", "aaaa", "17")["score"] < compute_score("x", "1 and 7", "17")["score"]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80), st.text(min_size=1, max_size=8).filter(str.strip))
def test_score_in_unit_interval(response, gt):
    out = compute_score("x", response, gt)
    assert 0.0 <= out["score"] <= 1.0 and out["acc"] in (0.0, 1.0)


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="solution_str"):
        compute_score("x", None, "7")
    with pytest.raises(TypeError, match="ground_truth"):
        compute_score("x", "7", None)
    with pytest.raises(ValueError, match="ground_truth"):
        compute_score("x", "7", "  ")


def test_extract_answer_none_without_tokens():
    assert extract_answer("?!") is None


@pytest.mark.parametrize("by", ["pkg", "file"])
def test_loads_as_verl_custom_reward_function(by):
    """verl loads the function by ``pkg://`` module or file path and calls it with keyword arguments."""
    import os

    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import get_custom_reward_fn

    import rlsd_verl.assets.toy_reward as mod

    path = "pkg://rlsd_verl.assets.toy_reward" if by == "pkg" else os.path.abspath(mod.__file__)
    cfg = OmegaConf.create(
        {"reward": {"custom_reward_function": {"path": path, "name": "compute_score", "reward_kwargs": {}}}}
    )
    fn = get_custom_reward_fn(cfg)
    out = fn(data_source="rlsd_verl/synthetic_vl", solution_str="\\boxed{B}", ground_truth="B", extra_info={"index": 0})
    assert out["acc"] == 1.0
    assert fn(data_source="x", solution_str="\\boxed{A}", ground_truth="B")["acc"] == 0.0
