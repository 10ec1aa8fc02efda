"""Per-row metric stats add up to the whole-batch metrics, for every method."""

from __future__ import annotations

import pytest
import torch

from rlsd_verl.algos.token_advantage import aggregate_row_stats, row_stats, token_advantages

PARAMS = {"lam": 0.3, "clip_eps": 0.2, "beta": 0.7, "opsd_clip": None}


def _batch(seed: int, b: int = 6, t: int = 9):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(0, t + 1, (b,), generator=g)
    valid = (torch.arange(t)[None, :] < lengths[:, None]).float()
    base = torch.randn(b, 1, generator=g).expand(b, t) * valid
    teacher = -torch.rand(b, t, generator=g) * 3
    student = -torch.rand(b, t, generator=g) * 3
    return base, teacher, student, valid


@pytest.mark.parametrize("method", ["rlsd", "opsd", "grpo_opsd", "sdpo"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_stats_aggregate_to_the_batch_metrics(method, seed):
    base, teacher, student, valid = _batch(seed)
    params = dict(PARAMS)
    if method == "sdpo":
        params["has_demo"] = torch.tensor([True, False, True, True, False, True])
    adv_all, metrics = token_advantages(method, base, teacher, student, valid, **params)
    adv, keys, stats = row_stats(method, base, teacher, student, valid, **dict(params))
    assert torch.equal(adv, adv_all)
    assert keys == sorted(metrics)
    assert stats.shape == (6, 1 + len(keys))
    counted = valid * params["has_demo"][:, None] if method == "sdpo" else valid
    assert stats[:, 0].tolist() == counted.sum(1).tolist()
    agg = aggregate_row_stats(keys, stats)
    for k in keys:
        assert agg[k] == pytest.approx(metrics[k], abs=1e-6), k


def test_excluded_rows_do_not_count():
    base, teacher, student, valid = _batch(3)
    _, keys, stats = row_stats("rlsd", base, teacher, student, valid, **PARAMS)
    include = torch.tensor([True, True, True, False, False, False])
    _, part = token_advantages("rlsd", base[:3], teacher[:3], student[:3], valid[:3], **PARAMS)
    agg = aggregate_row_stats(keys, stats, include=include)
    for k in keys:
        assert agg[k] == pytest.approx(part[k], abs=1e-6), k
    assert aggregate_row_stats(keys, stats, include=torch.zeros(6, dtype=torch.bool)) == {k: 0.0 for k in keys}


def test_unknown_method_is_refused():
    one = torch.ones(1, 1)
    with pytest.raises(NotImplementedError, match="adv_estimator=nope"):
        token_advantages("nope", one, one, one, one)


@pytest.mark.parametrize("method", ["rlsd", "opsd", "grpo_opsd", "sdpo"])
def test_each_row_holds_the_metrics_of_that_row_alone(method):
    base, teacher, student, valid = _batch(4)
    params = dict(PARAMS, opsd_clip=0.5)
    if method == "sdpo":
        params["has_demo"] = torch.tensor([True, False, True, True, False, True])
    before = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in params.items()}
    _, keys, stats = row_stats(method, base, teacher, student, valid, **params)
    assert params.keys() == before.keys()  # params not changed
    for i in range(base.shape[0]):
        one = dict(params)
        if method == "sdpo":
            one["has_demo"] = params["has_demo"][i : i + 1]
        _, m = token_advantages(method, base[i : i + 1], teacher[i : i + 1], student[i : i + 1], valid[i : i + 1], **one)
        for j, k in enumerate(keys):
            assert float(stats[i, 1 + j]) == pytest.approx(m[k], abs=1e-9), (i, k)


def test_row_stats_runs_the_method_once_for_the_whole_shard(monkeypatch):
    from rlsd_verl.algos import token_advantage

    calls = []
    real = token_advantage.compute_rlsd_advantages
    monkeypatch.setattr(token_advantage, "compute_rlsd_advantages", lambda *a, **k: calls.append(1) or real(*a, **k))
    base, teacher, student, valid = _batch(5, b=64)
    row_stats("rlsd", base, teacher, student, valid, **PARAMS)
    assert len(calls) == 1
