"""Invariants of ``compute_rlsd_advantages`` and the ``rlsd_lambda`` schedule (paper Eq. 13-15, Alg. 1 l.17)."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rlsd_verl.algos.rlsd import RLSD_METRIC_KEYS, compute_rlsd_advantages, rlsd_lambda


JUNK = [float("-inf"), float("nan"), float("inf"), 0.0, -7.0]  # what padding may hold in a log-prob tensor


@st.composite
def rlsd_batches(draw, *, lam=None, clip_eps=None, equal_log_probs=False):
    """A (batch, response_len) float64 RLSD input with GRPO-like per-row advantages and junk padding."""
    b = draw(st.integers(1, 4))
    n = draw(st.integers(1, 6))
    adv_value = st.one_of(st.just(0.0), st.floats(-3, 3, allow_nan=False, allow_subnormal=False))
    row_adv = draw(st.lists(adv_value, min_size=b, max_size=b))
    lp = st.floats(-15, 0, allow_nan=False, allow_subnormal=False)
    student = np.array(draw(st.lists(lp, min_size=b * n, max_size=b * n))).reshape(b, n)
    if equal_log_probs:
        teacher = student.copy()
    else:
        teacher = np.array(draw(st.lists(lp, min_size=b * n, max_size=b * n))).reshape(b, n)
    mask = np.array(draw(st.lists(st.booleans(), min_size=b * n, max_size=b * n))).reshape(b, n)
    junk_t = np.array(draw(st.lists(st.sampled_from(JUNK), min_size=b * n, max_size=b * n))).reshape(b, n)
    junk_s = np.array(draw(st.lists(st.sampled_from(JUNK), min_size=b * n, max_size=b * n))).reshape(b, n)
    teacher = np.where(mask, teacher, junk_t)
    student = np.where(mask, student, junk_s)
    # verl's GRPO advantage is broadcast and multiplied by the mask; sometimes leave it unmasked.
    adv = np.repeat(np.array(row_adv)[:, None], n, axis=1)
    if draw(st.booleans()):
        adv = adv * mask
    lam = draw(st.floats(0, 1)) if lam is None else lam
    clip_eps = draw(st.floats(0, 0.99)) if clip_eps is None else clip_eps
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    return t(adv), t(teacher), t(student), torch.tensor(mask, dtype=torch.int64), lam, clip_eps


def _valid(mask):
    return mask != 0


@given(rlsd_batches(lam=0.0))
def test_lambda_zero_is_grpo(batch):
    adv, teacher, student, mask, lam, eps = batch
    out, _ = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps)
    assert torch.equal(out, adv * mask)


@given(rlsd_batches(equal_log_probs=True))
def test_zero_delta_is_grpo(batch):
    adv, teacher, student, mask, lam, eps = batch
    out, metrics = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps)
    assert torch.equal(out, adv * mask)
    assert metrics["rlsd/clip_frac"] == 0.0
    if mask.any():
        assert metrics["rlsd/weight_mean"] == 1.0 and metrics["rlsd/multiplier_mean"] == 1.0


@given(rlsd_batches())
def test_sign_never_flips_and_magnitude_is_bounded(batch):
    adv, teacher, student, mask, lam, eps = batch
    out, _ = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps)
    v = _valid(mask)
    assert torch.equal(torch.sign(out[v]), torch.sign(adv[v]))
    a, o = adv[v].abs(), out[v].abs()
    tol = 1e-12 * (1 + a)
    assert bool(((1 - lam * eps) * a - tol <= o).all()) and bool((o <= (1 + lam * eps) * a + tol).all())


@given(rlsd_batches())
def test_padding_is_exactly_zero_and_nothing_is_nan(batch):
    adv, teacher, student, mask, lam, eps = batch
    out, metrics = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps)
    assert bool(torch.isfinite(out).all())
    assert bool((out[~_valid(mask)] == 0).all())
    assert set(metrics) == set(RLSD_METRIC_KEYS)
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())


@given(rlsd_batches())
def test_metrics_match_numpy(batch):
    adv, teacher, student, mask, lam, eps = batch
    out, m = compute_rlsd_advantages(adv, teacher, student, mask, lam, eps)
    v = mask.numpy().astype(bool)
    if not v.any():
        assert all(val == 0.0 for key, val in m.items() if key != "rlsd/lambda")
        return
    a = adv.numpy()[v]
    d = teacher.numpy()[v] - student.numpy()[v]
    w = np.exp(np.sign(a) * d)
    wc = np.clip(w, 1 - eps, 1 + eps)
    mult = (1 - lam) + lam * wc
    expected = {
        "rlsd/lambda": lam,
        "rlsd/delta_mean": d.mean(),
        "rlsd/delta_std": d.std(),
        "rlsd/weight_mean": w.mean(),
        "rlsd/clipped_weight_mean": wc.mean(),
        "rlsd/clip_low_frac": (w < 1 - eps).mean(),
        "rlsd/clip_high_frac": (w > 1 + eps).mean(),
        "rlsd/clip_frac": (w < 1 - eps).mean() + (w > 1 + eps).mean(),
        "rlsd/adv_abs_mean_before": np.abs(a).mean(),
        "rlsd/adv_abs_mean_after": np.abs(a * mult).mean(),
        "rlsd/adv_mean_after": (a * mult).mean(),
        "rlsd/multiplier_mean": mult.mean(),
    }
    for key, value in expected.items():
        assert m[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
    np.testing.assert_allclose(out.numpy()[v], a * mult, rtol=1e-12, atol=1e-12)


def test_hand_computed_example():
    # Row 0: A = +1 (correct). Row 1: A = -2 (wrong). λ = 0.5, ε = 0.2.
    adv = torch.tensor([[1.0, 1.0, 1.0], [-2.0, -2.0, -2.0]])
    teacher = torch.tensor([[-0.1, -1.0, -2.0], [-0.1, -1.0, 0.0]])
    student = torch.tensor([[-0.2, -0.5, -1.0], [-0.2, -0.5, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    out, m = compute_rlsd_advantages(adv, teacher, student, mask, lam=0.5, clip_eps=0.2)
    # Δ = [[0.1, -0.5, -1.0], [0.1, -0.5, ·]]
    # row 0, w = exp(+Δ) = [1.10517, 0.60653, 0.36788] -> clip [1.10517, 0.8, 0.8]
    #         mult = 0.5 + 0.5·clip = [1.052585, 0.9, 0.9]
    # row 1, w = exp(-Δ) = [0.90484, 1.64872] -> clip [0.90484, 1.2]; mult = [0.95242, 1.1]
    expected = torch.tensor([[1.0525855, 0.9, 0.9], [-2 * 0.9524187, -2.2, 0.0]])
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    assert m["rlsd/clip_low_frac"] == pytest.approx(2 / 5)
    assert m["rlsd/clip_high_frac"] == pytest.approx(1 / 5)
    assert m["rlsd/clip_frac"] == pytest.approx(3 / 5)
    assert m["rlsd/adv_abs_mean_before"] == pytest.approx(7 / 5)
    assert m["rlsd/delta_mean"] == pytest.approx((0.1 - 0.5 - 1.0 + 0.1 - 0.5) / 5, abs=1e-6)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_direction_teacher_more_confident(sign):
    """A > 0 and the teacher likes the token more: more credit; A < 0: less blame."""
    adv = torch.full((1, 2), sign)
    teacher = torch.tensor([[-0.1, -0.1]])
    student = torch.tensor([[-1.0, -0.15]])  # teacher more confident on both
    out, _ = compute_rlsd_advantages(adv, teacher, student, torch.ones(1, 2), lam=0.5)
    multiplier = out / adv
    if sign > 0:
        assert bool((multiplier > 1).all())
    else:
        assert bool((multiplier < 1).all())
    # The clip binds on the first token only: 1 + λε = 1.1 and 1 - λε = 0.9.
    assert multiplier[0, 0].item() == pytest.approx(1.1 if sign > 0 else 0.9)


def test_no_gradient_reaches_the_log_probs():
    adv = torch.tensor([[1.0, -1.0]], requires_grad=True)
    teacher = torch.tensor([[-0.1, -0.3]], requires_grad=True)
    student = torch.tensor([[-0.5, -0.2]], requires_grad=True)
    out, _ = compute_rlsd_advantages(adv, teacher, student, torch.ones(1, 2), lam=0.5)
    assert not out.requires_grad and out.grad_fn is None
    # The only gradient path of the loss is through the policy's own log-prob.
    logp = torch.tensor([[-0.4, -0.6]], requires_grad=True)
    (-(out * logp).sum()).backward()
    assert logp.grad is not None
    assert teacher.grad is None and student.grad is None and adv.grad is None


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_low_precision_inputs_compute_in_fp32(dtype):
    adv = torch.tensor([[1.0, -1.0, 0.0]], dtype=dtype)
    lp = torch.tensor([[-0.1, -0.2, -0.3]], dtype=dtype)
    out, _ = compute_rlsd_advantages(adv, lp - 0.05, lp, torch.ones(1, 3, dtype=torch.bool), lam=0.5)
    assert out.dtype == torch.float32
    assert out[0, 2].item() == 0.0


def test_empty_mask_gives_zero_metrics():
    z = torch.zeros(2, 3)
    out, m = compute_rlsd_advantages(z + 1, z - 1, z - 2, torch.zeros(2, 3), lam=0.3)
    assert torch.equal(out, z)
    assert m["rlsd/lambda"] == 0.3
    assert all(v == 0.0 for k, v in m.items() if k != "rlsd/lambda")


def test_metric_names_avoid_verl_reducer_keywords():
    for key in RLSD_METRIC_KEYS:
        assert key.startswith("rlsd/")
        assert not any(word in key for word in ("max", "min", "total")), key


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"lam": -0.1}, ValueError, "lam"),
        ({"lam": 1.5}, ValueError, "lam"),
        ({"lam": float("nan")}, ValueError, "lam"),
        ({"lam": True}, TypeError, "lam"),
        ({"clip_eps": 1.0}, ValueError, "clip_eps"),
        ({"clip_eps": -0.2}, ValueError, "clip_eps"),
    ],
)
def test_bad_scalars_raise(kwargs, exc, match):
    t = torch.zeros(1, 2)
    args = {"lam": 0.5, "clip_eps": 0.2, **kwargs}
    with pytest.raises(exc, match=match):
        compute_rlsd_advantages(t, t, t, torch.ones(1, 2), **args)


def test_bad_shapes_raise_naming_the_argument():
    t = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="teacher_log_probs"):
        compute_rlsd_advantages(t, torch.zeros(2, 4), t, t, lam=0.5)
    with pytest.raises(ValueError, match="response_mask"):
        compute_rlsd_advantages(t, t, t, torch.ones(3, 3), lam=0.5)
    with pytest.raises(ValueError, match="advantages"):
        compute_rlsd_advantages(torch.zeros(6), torch.zeros(6), torch.zeros(6), torch.ones(6), lam=0.5)
    with pytest.raises(TypeError, match="student_log_probs"):
        compute_rlsd_advantages(t, t, np.zeros((2, 3)), t, lam=0.5)


def test_non_finite_log_prob_at_a_valid_position_raises():
    adv = torch.ones(1, 2)
    good = torch.tensor([[-0.1, -0.2]])
    bad = torch.tensor([[-0.1, float("-inf")]])
    with pytest.raises(ValueError, match="teacher_log_probs is not finite at 1 valid"):
        compute_rlsd_advantages(adv, bad, good, torch.ones(1, 2), lam=0.5)
    # ...but the same value in a masked slot is fine.
    out, _ = compute_rlsd_advantages(adv, bad, good, torch.tensor([[1, 0]]), lam=0.5)
    assert out[0, 1].item() == 0.0 and math.isfinite(out[0, 0].item())


# ---------------------------------------------------------------------------------------------
# λ schedule
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step, expected", [(0, 0.5), (1, 0.49), (25, 0.25), (49, 0.01), (50, 0.0), (100, 0.0)])
def test_lambda_schedule_paper_points(step, expected):
    assert rlsd_lambda(step) == pytest.approx(expected, abs=1e-12)


def test_lambda_schedule_warmup_then_decay():
    kw = dict(lambda_init=0.5, decay_steps=50, warmup_steps=10)
    assert rlsd_lambda(0, **kw) == 0.0
    assert rlsd_lambda(5, **kw) == pytest.approx(0.25)
    assert rlsd_lambda(10, **kw) == pytest.approx(0.5)
    assert rlsd_lambda(35, **kw) == pytest.approx(0.25)
    assert rlsd_lambda(60, **kw) == 0.0


def test_lambda_schedule_zero_decay_is_constant():
    assert rlsd_lambda(0, 0.3, decay_steps=0) == 0.3
    assert rlsd_lambda(10_000, 0.3, decay_steps=0) == 0.3
    assert rlsd_lambda(2, 0.3, decay_steps=0, warmup_steps=4) == pytest.approx(0.15)


@given(
    st.floats(0, 1),
    st.integers(0, 100),
    st.integers(0, 20),
    st.integers(0, 200),
)
def test_lambda_schedule_bounded_and_nonincreasing_after_warmup(lambda_init, decay, warmup, step):
    lam = rlsd_lambda(step, lambda_init, decay, warmup)
    assert 0.0 <= lam <= lambda_init
    if step >= warmup:
        assert rlsd_lambda(step + 1, lambda_init, decay, warmup) <= lam


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((-1,), ValueError, "step"),
        ((1.5,), TypeError, "step"),
        ((True,), TypeError, "step"),
        ((0, 1.5), ValueError, "lambda_init"),
        ((0, -0.5), ValueError, "lambda_init"),
        ((0, 0.5, -1), ValueError, "decay_steps"),
        ((0, 0.5, 50, -2), ValueError, "warmup_steps"),
        ((0, 0.5, 50.0), TypeError, "decay_steps"),
    ],
)
def test_lambda_schedule_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        rlsd_lambda(*args)


def test_top_level_lazy_exports_and_light_imports():
    """`rlsd_verl.compute_rlsd_advantages` works and importing the algos pulls in no Ray/verl/transformers."""
    import rlsd_verl

    assert rlsd_verl.compute_rlsd_advantages is compute_rlsd_advantages
    assert rlsd_verl.rlsd_lambda is rlsd_lambda
    code = (
        "import sys, rlsd_verl.algos; "
        "heavy = [m for m in ('ray', 'verl', 'transformers', 'vllm') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
