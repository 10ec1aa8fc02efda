"""Invariants of the baseline estimators: OPSD, GRPO+OPSD and SDPO (paper §4.3 Eq. 17, §5)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rlsd_verl.algos.baselines import (
    compute_grpo_opsd_advantages,
    compute_opsd_advantages,
    compute_sdpo_advantages,
    select_sdpo_demonstrations,
)


@st.composite
def token_batches(draw):
    """(advantages, teacher, student, mask) in float64 with -inf/NaN padding in the log-probs."""
    b, n = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    row = st.lists(st.floats(-3, 3, allow_nan=False, allow_subnormal=False), min_size=b, max_size=b)
    lps = st.lists(st.floats(-12, 0, allow_nan=False, allow_subnormal=False), min_size=b * n, max_size=b * n)
    mask = np.array(draw(st.lists(st.booleans(), min_size=b * n, max_size=b * n))).reshape(b, n)
    teacher = np.where(mask, np.array(draw(lps)).reshape(b, n), float("-inf"))
    student = np.where(mask, np.array(draw(lps)).reshape(b, n), float("nan"))
    adv = np.repeat(np.array(draw(row))[:, None], n, axis=1)
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    return t(adv), t(teacher), t(student), torch.tensor(mask)


def _delta(teacher, student, mask):
    return torch.where(mask, teacher - student, torch.zeros((), dtype=teacher.dtype))


# -- OPSD --------------------------------------------------------------------------------------


@given(token_batches())
def test_opsd_advantage_is_masked_log_ratio(batch):
    _, teacher, student, mask = batch
    out, m = compute_opsd_advantages(teacher, student, mask)
    assert torch.equal(out, _delta(teacher, student, mask))
    assert bool(torch.isfinite(out).all())
    assert set(m) == {"opsd/delta_mean", "opsd/delta_std", "opsd/adv_abs_mean", "opsd/clip_frac"}
    assert all(math.isfinite(v) for v in m.values())
    if mask.any():
        d = (teacher - student)[mask].numpy()
        assert m["opsd/delta_mean"] == pytest.approx(d.mean(), abs=1e-9)
        assert m["opsd/delta_std"] == pytest.approx(d.std(), abs=1e-9)
        assert m["opsd/adv_abs_mean"] == pytest.approx(np.abs(d).mean(), abs=1e-9)


@given(token_batches())
def test_opsd_zero_delta_gives_zero_advantage(batch):
    _, _, student, mask = batch
    out, _ = compute_opsd_advantages(student.clone(), student, mask)
    assert bool((out == 0).all())


@given(token_batches(), st.floats(0.01, 5))
def test_opsd_clip_bounds_the_advantage(batch, clip):
    _, teacher, student, mask = batch
    out, m = compute_opsd_advantages(teacher, student, mask, clip=clip)
    d = _delta(teacher, student, mask)
    assert torch.equal(out, d.clamp(-clip, clip))
    assert bool((out.abs() <= clip).all())
    if mask.any():
        assert m["opsd/clip_frac"] == pytest.approx((d[mask].abs() > clip).double().mean().item())


def test_opsd_does_not_carry_gradients():
    teacher = torch.tensor([[-0.1, -0.4]], requires_grad=True)
    student = torch.tensor([[-0.3, -0.2]], requires_grad=True)
    out, _ = compute_opsd_advantages(teacher, student, torch.ones(1, 2))
    assert not out.requires_grad


@pytest.mark.parametrize("clip", [0, -1.0, float("inf")])
def test_opsd_bad_clip_raises(clip):
    t = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="clip"):
        compute_opsd_advantages(t, t, torch.ones(1, 2), clip=clip)


# -- GRPO+OPSD ---------------------------------------------------------------------------------


@given(token_batches())
def test_grpo_opsd_beta_zero_is_grpo(batch):
    adv, teacher, student, mask = batch
    out, m = compute_grpo_opsd_advantages(adv, teacher, student, mask, beta=0.0)
    assert torch.equal(out, adv * mask)
    assert m["grpo_opsd/sign_flip_frac"] == 0.0


@given(token_batches(), st.floats(0, 4))
def test_grpo_opsd_adds_beta_delta(batch, beta):
    adv, teacher, student, mask = batch
    out, _ = compute_grpo_opsd_advantages(adv, teacher, student, mask, beta=beta)
    expected = torch.where(mask, adv + beta * (teacher - student), torch.zeros((), dtype=adv.dtype))
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    assert bool((out[~mask] == 0).all())


def test_grpo_opsd_hand_example_and_sign_flip_metric():
    adv = torch.tensor([[1.0, 1.0, 1.0]])
    teacher = torch.tensor([[-0.1, -3.0, -1.0]])
    student = torch.tensor([[-0.1, -0.5, -1.5]])
    out, m = compute_grpo_opsd_advantages(adv, teacher, student, torch.ones(1, 3), beta=0.5)
    torch.testing.assert_close(out, torch.tensor([[1.0, -0.25, 1.25]]))
    assert m["grpo_opsd/sign_flip_frac"] == pytest.approx(1 / 3)  # the teacher overrode the verifier once
    assert m["grpo_opsd/distill_abs_mean"] == pytest.approx((0 + 1.25 + 0.25) / 3)
    assert m["grpo_opsd/beta"] == 0.5


def test_grpo_opsd_bad_beta_raises():
    t = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="beta"):
        compute_grpo_opsd_advantages(t, t, t, torch.ones(1, 2), beta=-1.0)


# -- SDPO demonstration selection -------------------------------------------------------------


@st.composite
def groups(draw):
    n = draw(st.integers(1, 16))
    uids = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n))
    scores = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=n, max_size=n))
    lengths = draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
    return uids, scores, lengths


@pytest.mark.parametrize("selection", ["first", "random", "shortest"])
@given(g=groups())
def test_sdpo_selection_picks_a_successful_sibling_never_self(selection, g):
    uids, scores, lengths = g
    chosen = select_sdpo_demonstrations(uids, scores, 1.0, selection=selection, lengths=lengths, rng=0)
    assert len(chosen) == len(uids)
    for i, j in enumerate(chosen):
        others = [k for k in range(len(uids)) if uids[k] == uids[i] and scores[k] >= 1.0 and k != i]
        if j is None:
            assert not others  # None only for groups with no other success
        else:
            assert j != i and uids[j] == uids[i] and scores[j] >= 1.0
            if selection == "first":
                assert j == others[0]
            if selection == "shortest":
                assert lengths[j] == min(lengths[k] for k in others)


@given(g=groups())
def test_sdpo_selection_without_self_exclusion_uses_self_only_as_last_resort(g):
    uids, scores, _ = g
    chosen = select_sdpo_demonstrations(uids, scores, 1.0, exclude_self=False)
    for i, j in enumerate(chosen):
        group_successes = [k for k in range(len(uids)) if uids[k] == uids[i] and scores[k] >= 1.0]
        if not group_successes:
            assert j is None
        elif group_successes == [i]:
            assert j == i
        else:
            assert j != i and j in group_successes


def test_sdpo_selection_example_and_threshold():
    uids = ["q1", "q1", "q1", "q2", "q2", "q3"]
    scores = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    # q1 has two successes (each uses the other); q2 has a lone success (no teacher for it); q3 none.
    assert select_sdpo_demonstrations(uids, scores) == [2, 0, 0, 4, None, None]
    # With the paper's 0.9·acc + 0.1·format math reward, a correct unformatted answer scores 0.9.
    assert select_sdpo_demonstrations(["q", "q"], [0.9, 0.0], success_threshold=0.9) == [None, 0]
    assert select_sdpo_demonstrations(["q", "q"], [0.9, 0.0]) == [None, None]


def test_sdpo_random_selection_is_seeded_and_uses_every_candidate():
    uids = ["q"] * 6
    scores = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    picks = [select_sdpo_demonstrations(uids, scores, selection="random", rng=seed)[0] for seed in range(40)]
    assert set(picks) == {1, 2, 3, 4}
    assert select_sdpo_demonstrations(uids, scores, selection="random", rng=7) == select_sdpo_demonstrations(
        uids, scores, selection="random", rng=np.random.default_rng(7)
    )


def test_sdpo_selection_accepts_numpy_uids():
    uids = np.array(["u1", "u1", "u2"], dtype=object)  # verl's non_tensor_batch["uid"]
    assert select_sdpo_demonstrations(uids, np.array([1.0, 1.0, 1.0])) == [1, 0, None]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scores": [1.0]}, "scores"),
        ({"selection": "longest"}, "selection"),
        ({"selection": "shortest"}, "lengths"),
        ({"selection": "shortest", "lengths": [1]}, "lengths"),
        ({"scores": [float("nan"), 1.0]}, "NaN"),
    ],
)
def test_sdpo_selection_errors(kwargs, match):
    args = {"uids": ["a", "a"], "scores": [1.0, 1.0], **kwargs}
    with pytest.raises(ValueError, match=match):
        select_sdpo_demonstrations(**args)


# -- SDPO advantage ---------------------------------------------------------------------------


@given(token_batches(), st.data())
def test_sdpo_advantage_is_delta_on_rows_with_a_demonstration(batch, data):
    _, teacher, student, mask = batch
    demo = data.draw(st.lists(st.booleans(), min_size=mask.shape[0], max_size=mask.shape[0]))
    teacher = teacher.clone()
    teacher[~torch.tensor(demo)] = float("nan")  # no teacher pass ran for rows without a demonstration
    out, m = compute_sdpo_advantages(teacher, student, mask, demo)
    active = mask & torch.tensor(demo)[:, None]
    assert torch.equal(out, _delta(teacher, student, active))
    assert bool(torch.isfinite(out).all())
    assert m["sdpo/demo_sample_frac"] == pytest.approx(sum(demo) / len(demo))


def test_sdpo_advantage_from_selection():
    uids, scores = ["q", "q", "q"], [1.0, 0.0, 0.0]
    demos = select_sdpo_demonstrations(uids, scores)
    assert demos == [None, 0, 0]
    teacher = torch.tensor([[0.0, 0.0], [-0.1, -0.2], [-1.0, -1.0]])
    student = torch.full((3, 2), -0.5)
    out, m = compute_sdpo_advantages(teacher, student, torch.ones(3, 2), [d is not None for d in demos])
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.0], [0.4, 0.3], [-0.5, -0.5]]))
    assert m["sdpo/demo_sample_frac"] == pytest.approx(2 / 3)


def test_sdpo_advantage_flag_count_must_match_batch():
    t = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="has_demonstration"):
        compute_sdpo_advantages(t, t, torch.ones(2, 3), [True])


def test_baseline_metric_names():
    t = torch.zeros(1, 2)
    one = torch.ones(1, 2)
    for prefix, (_, metrics) in {
        "opsd/": compute_opsd_advantages(t, t, one),
        "grpo_opsd/": compute_grpo_opsd_advantages(t, t, t, one, beta=1.0),
        "sdpo/": compute_sdpo_advantages(t, t, one, [True]),
    }.items():
        for key in metrics:
            assert key.startswith(prefix) and not any(w in key for w in ("max", "min", "total")), key


def test_sdpo_feedback_is_the_shortest_failed_sibling_never_self():
    from rlsd_verl.algos.baselines import select_sdpo_feedback

    uids = ["a", "a", "a", "a", "b", "b"]
    scores = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    lengths = [5, 9, 3, 3, 4, 2]
    got = select_sdpo_feedback(uids, scores, lengths)
    # row 0: failures 1,2,3 -> shortest 2 (tie with 3, lowest index); row 2: itself excluded -> 3
    assert got == [2, 2, 3, 2, None, 4]
    assert select_sdpo_feedback(uids, scores, lengths, include=[True, True, False, True, True, True])[0] == 3
    assert select_sdpo_feedback(uids, [1.0] * 6, lengths) == [None] * 6
    with pytest.raises(ValueError, match="one per rollout"):
        select_sdpo_feedback(uids, scores, lengths[:-1])
