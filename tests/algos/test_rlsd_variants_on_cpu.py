"""``negative_only`` and ``thought_only``: the multiplier is 1 where the restriction says, plain RLSD elsewhere."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rlsd_verl.algos.config import RLSDConfig
from rlsd_verl.algos.rlsd import compute_rlsd_advantages, reweight_mask, thought_span_mask
from rlsd_verl.algos.token_advantage import row_stats, token_advantages
from tests.algos.test_rlsd_advantages_on_cpu import rlsd_batches

OPEN, CLOSE = [7, 8], [9]


@given(rlsd_batches())
def test_negative_only_is_grpo_on_non_negative_rows_and_rlsd_on_negative_rows(batch):
    adv, teacher, student, mask, lam, eps = batch
    plain, _ = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps)
    neg, m = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps, negative_only=True)
    valid = mask != 0
    keep = valid & (adv >= 0)
    assert torch.equal(neg[keep], adv[keep])  # multiplier exactly 1 for A >= 0
    bite = valid & (adv < 0)
    assert torch.equal(neg[bite], plain[bite])  # where the restriction does not bite: plain RLSD
    assert torch.equal(neg[~valid], torch.zeros_like(neg[~valid]))
    n = int(valid.sum())
    assert m["rlsd/reweighted_frac"] == pytest.approx(int(bite.sum()) / n if n else 0.0)


@given(rlsd_batches(), st.data())
def test_span_mask_is_grpo_outside_and_rlsd_inside(batch, data):
    adv, teacher, student, mask, lam, eps = batch
    span = torch.tensor(data.draw(st.lists(st.booleans(), min_size=adv.numel(), max_size=adv.numel()))).reshape(adv.shape)
    plain, _ = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps)
    out, _ = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps, span_mask=span)
    valid = mask != 0
    assert torch.equal(out[valid & ~span], adv[valid & ~span])
    assert torch.equal(out[valid & span], plain[valid & span])
    full, _ = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps, span_mask=torch.ones_like(span))
    assert torch.equal(full, plain)


def test_negative_only_changes_nothing_when_every_advantage_is_negative():
    adv = torch.tensor([[-1.0, -1.0, -1.0], [-0.5, -0.5, 0.0]])
    t, s = torch.tensor([[-1.0, -3.0, -0.2]] * 2), torch.tensor([[-2.0, -1.0, -0.2]] * 2)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    a, _ = compute_rlsd_advantages(adv, t, s, mask, 0.5, negative_only=True)
    b, _ = compute_rlsd_advantages(adv, t, s, mask, 0.5)
    assert torch.equal(a, b) and not torch.equal(a, adv * mask)  # the multiplier did act


def test_span_mask_shape_is_checked():
    with pytest.raises(ValueError, match="span_mask"):
        reweight_mask(torch.ones(2, 3), torch.ones(2, 3), span_mask=torch.ones(2, 4))


def _span(rows, valid=None):
    ids = torch.tensor(rows)
    valid = torch.ones_like(ids) if valid is None else torch.tensor(valid)
    return thought_span_mask(ids, valid, OPEN, CLOSE).int().tolist()


def test_thought_span_tags_included_first_span_only():
    assert _span([[1, 7, 8, 2, 3, 9, 4, 7, 8, 5, 9]]) == [[0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]]


def test_thought_span_without_open_tag_is_empty_and_unclosed_runs_to_the_end():
    assert _span([[1, 2, 9, 3], [1, 7, 8, 2]]) == [[0, 0, 0, 0], [0, 1, 1, 1]]


def test_thought_span_half_tag_and_close_before_open_do_not_count():
    # 7 without 8 is not the opening tag; a close before the opening does not end the span
    assert _span([[7, 1, 9, 7, 8, 2, 9]]) == [[0, 0, 0, 1, 1, 1, 1]]


def test_thought_span_respects_the_response_mask():
    assert _span([[7, 8, 2, 3, 0]], valid=[[1, 1, 1, 0, 0]]) == [[1, 1, 1, 0, 0]]


@given(st.lists(st.lists(st.integers(1, 9), min_size=0, max_size=10), min_size=1, max_size=5))
def test_thought_span_matches_a_per_row_reference(rows):
    width = max(len(r) for r in rows) or 1
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    valid = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    got = thought_span_mask(ids, valid, OPEN, CLOSE)
    for i, r in enumerate(rows):
        want = [False] * width
        start = next((k for k in range(len(r) - 1) if r[k : k + 2] == OPEN), None)
        if start is not None:
            end = next((k + 1 for k in range(start + 2, len(r)) if r[k] == 9), len(r))
            for k in range(start, end):
                want[k] = True
        assert got[i].tolist() == want, (r, got[i].tolist())


def test_row_stats_slices_the_span_mask_per_row():
    adv = torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])
    t, s = torch.full((2, 3), -0.5), torch.full((2, 3), -1.5)
    mask = torch.ones(2, 3)
    span = torch.tensor([[True, False, False], [False, True, True]])
    kw = dict(lam=0.5, clip_eps=0.2, span_mask=span, negative_only=False)
    whole, metrics = token_advantages("rlsd", adv, t, s, mask, **kw)
    adv_rows, keys, stats = row_stats("rlsd", adv, t, s, mask, **kw)
    assert torch.equal(adv_rows, whole)
    col = stats[:, 1 + keys.index("rlsd/reweighted_frac")]
    assert col.tolist() == pytest.approx([1 / 3, 2 / 3])


def test_config_fields_and_errors():
    cfg = RLSDConfig.from_config({"rlsd": {"negative_only": True, "thought_only": True, "thought_open": "<think>"}})
    assert cfg.negative_only and cfg.thought_only and cfg.thought_open == "<think>" and cfg.thought_close == "</thought>"
    with pytest.raises(TypeError, match="algorithm.rlsd.negative_only"):
        RLSDConfig(negative_only="yes")
    with pytest.raises(ValueError, match="algorithm.rlsd.thought_close"):
        RLSDConfig(thought_close=" ")
