"""Failure-mode metrics: the sign-split Δ/clip shares survive the workers' row aggregation; length by outcome."""

import pytest
import torch
from hypothesis import given

from rlsd_verl.algos.failure_metrics import finalize_sign_split, response_outcome_metrics
from rlsd_verl.algos.rlsd import rlsd_token_weights
from rlsd_verl.algos.token_advantage import aggregate_row_stats, row_stats
from tests.algos.test_rlsd_advantages_on_cpu import rlsd_batches


@given(rlsd_batches())
def test_sign_split_after_row_aggregation_equals_the_direct_conditional_means(batch):
    adv, teacher, student, mask, lam, eps = batch
    _, keys, stats = row_stats("rlsd", adv, teacher, student, mask, lam=lam, clip_eps=eps)
    metrics = aggregate_row_stats(keys, stats)
    out = finalize_sign_split(metrics)
    assert not any(k.startswith("rlsd/split_") for k in metrics)  # the partial sums are consumed
    delta, weight = rlsd_token_weights(adv, teacher, student, mask)
    valid = mask != 0
    for name, side in (("pos", valid & (adv > 0)), ("neg", valid & (adv < 0))):
        if side.any():
            assert out[f"failure/delta_mean_{name}_adv"] == pytest.approx(float(delta[side].mean()), abs=1e-6)
            clipped = (weight[side] < 1 - eps) | (weight[side] > 1 + eps)
            assert out[f"failure/clip_frac_{name}_adv"] == pytest.approx(float(clipped.double().mean()), abs=1e-6)
        else:
            assert out[f"failure/delta_mean_{name}_adv"] == 0.0


def test_sign_split_sees_a_teacher_that_favours_wrong_responses():
    adv = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    teacher = torch.tensor([[-2.0, -2.0], [-0.1, -0.1]])  # raises the wrong response, lowers the right one
    student = torch.full((2, 2), -1.0)
    _, keys, stats = row_stats("rlsd", adv, teacher, student, torch.ones(2, 2), lam=0.5, clip_eps=0.2)
    out = finalize_sign_split(aggregate_row_stats(keys, stats))
    assert out["failure/delta_mean_pos_adv"] == pytest.approx(-1.0)
    assert out["failure/delta_mean_neg_adv"] == pytest.approx(0.9)
    assert out["failure/clip_frac_pos_adv"] == 1.0 and out["failure/clip_frac_neg_adv"] == 1.0


def test_finalize_without_split_returns_nothing_and_drops_partial_keys():
    m = {"rlsd/split_pos_token_share": 0.5, "x": 1.0}
    assert finalize_sign_split(m) == {} and m == {"x": 1.0}


def test_response_outcome_metrics():
    out = response_outcome_metrics(torch.tensor([4, 10, 6, 10]), torch.tensor([1.0, 0.0, 1.0, 0.1]), 10)
    assert out == {
        "failure/response_length_correct": 5.0,
        "failure/response_length_wrong": 10.0,
        "failure/truncated_frac": 0.5,
        "failure/correct_frac": 0.5,
    }
    assert response_outcome_metrics(torch.tensor([3.0]), torch.tensor([0.0]), 8)["failure/response_length_correct"] == 0.0
    with pytest.raises(ValueError, match="max_response_length"):
        response_outcome_metrics(torch.tensor([3.0]), torch.tensor([0.0]), 0)
    with pytest.raises(ValueError, match="one value per response"):
        response_outcome_metrics(torch.tensor([3.0, 4.0]), torch.tensor([0.0]), 8)
