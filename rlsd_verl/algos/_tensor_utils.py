"""Private helpers shared by :mod:`rlsd_verl.algos.rlsd` and :mod:`rlsd_verl.algos.baselines`.

Argument checks that raise errors naming the argument, the masked teacher/student log-ratio
(masked *before* any arithmetic that could turn padding into NaN), and masked statistics
that return plain floats (0.0 for an empty mask, never NaN) — or, inside :func:`per_row_metrics`,
one value per row as a ``(batch,)`` float64 tensor, so a method's per-row metrics come from one
vectorised call instead of one call per row.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers

import torch

_PER_ROW = contextvars.ContextVar("rlsd_verl_per_row_metrics", default=False)


@contextlib.contextmanager
def per_row_metrics():
    """Within the block, :func:`masked_mean`, :func:`masked_std`, :func:`masked_frac` and :func:`row_frac`
    return ``(batch,)`` float64 tensors: the statistic of each row on its own (0.0 for a row with no valid
    position), i.e. what the function returns when called on that row alone."""
    token = _PER_ROW.set(True)
    try:
        yield
    finally:
        _PER_ROW.reset(token)


def _row_means(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    counts = valid.sum(dim=1).double()
    sums = torch.where(valid, x.double(), 0.0).sum(dim=1)
    return torch.where(counts > 0, sums / counts.clamp(min=1.0), 0.0)

__all__: list[str] = []  # private module


def check_tensors(shape_ref: str, **tensors: torch.Tensor) -> torch.Size:
    """Check that every argument is a 2-D tensor with the same shape as ``tensors[shape_ref]``."""
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (batch, response_len), got {type(t).__name__}")
    shape = tensors[shape_ref].shape
    if len(shape) != 2:
        raise ValueError(
            f"{shape_ref} must have shape (batch, response_len) (token-level, as in verl's batch), "
            f"got shape {tuple(shape)}"
        )
    for name, t in tensors.items():
        if t.shape != shape:
            raise ValueError(
                f"{name} has shape {tuple(t.shape)} but {shape_ref} has shape {tuple(shape)}; all token-level "
                "inputs must be aligned on the same (batch, response_len) response positions"
            )
    return shape


def check_real(name: str, value, low: float | None = None, high: float | None = None, *, high_open: bool = False):
    """Return ``value`` as a float after checking it is a finite real number in [low, high] (or [low, high))."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    bad_low = low is not None and value < low
    bad_high = high is not None and (value >= high if high_open else value > high)
    if bad_low or bad_high:
        interval = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        if high is None:
            interval = f">= {low}"
        raise ValueError(f"{name}={value} is outside {interval}")
    return value


def work_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """At least float32: bf16/fp16 inputs are upcast, float64 inputs stay float64."""
    dtype = torch.float32
    for t in tensors:
        if t.is_floating_point():
            dtype = torch.promote_types(dtype, t.dtype)
    return dtype


def masked_log_ratio(
    teacher_log_probs: torch.Tensor,
    student_log_probs: torch.Tensor,
    valid: torch.Tensor,
    dtype: torch.dtype,
) -> torch.Tensor:
    """``Δ_t = sg(log P_T − log P_S)`` at valid positions, exactly 0 elsewhere.

    Padding is replaced by 0 *before* the subtraction, so a ``-inf`` (or NaN) log-prob in a
    masked slot never reaches the result. A non-finite log-prob at a valid position is an
    error: the log-prob of a token the student sampled is finite under any softmax, so a
    non-finite value means the teacher and student tensors are misaligned.
    """
    zero = torch.zeros((), dtype=dtype, device=valid.device)
    out = []
    for name, lp in (("teacher_log_probs", teacher_log_probs), ("student_log_probs", student_log_probs)):
        lp = torch.where(valid, lp.detach().to(dtype), zero)
        n_bad = int((~torch.isfinite(lp)).sum().item())
        if n_bad:
            raise ValueError(
                f"{name} is not finite at {n_bad} valid (response_mask != 0) position(s); the log-prob of a "
                "sampled token is always finite, so this usually means the teacher and student log-probs are "
                "not aligned on the same response tokens (or the response_mask is wrong)"
            )
        out.append(lp)
    return out[0] - out[1]


def masked_mean(x: torch.Tensor, valid: torch.Tensor, count: int) -> float:
    """Mean of ``x`` over valid positions as a Python float (0.0 if ``count == 0``); float64 accumulation."""
    if _PER_ROW.get():
        return _row_means(x, valid)
    if count == 0:
        return 0.0
    return float(torch.where(valid, x.double(), 0.0).sum().item() / count)


def masked_std(x: torch.Tensor, valid: torch.Tensor, count: int) -> float:
    """Population std (``unbiased=False``) of ``x`` over valid positions; 0.0 if ``count == 0``."""
    if _PER_ROW.get():
        mean = _row_means(x, valid)
        return _row_means((x.double() - mean[:, None]) ** 2, valid).clamp(min=0.0).sqrt()
    if count == 0:
        return 0.0
    mean = masked_mean(x, valid, count)
    var = torch.where(valid, (x.double() - mean) ** 2, 0.0).sum().item() / count
    return float(math.sqrt(max(var, 0.0)))


def masked_frac(condition: torch.Tensor, valid: torch.Tensor, count: int) -> float:
    """Fraction of valid positions where ``condition`` holds; 0.0 if ``count == 0``."""
    if _PER_ROW.get():
        return _row_means(condition.double(), valid)
    if count == 0:
        return 0.0
    return float((condition & valid).sum().item() / count)


def row_frac(flags: torch.Tensor) -> float:
    """Fraction of rows whose ``flags`` entry is set (0.0 for no rows); per row, the flag itself."""
    flags = flags.reshape(-1) != 0
    if _PER_ROW.get():
        return flags.double()
    return float(flags.sum().item() / flags.numel()) if flags.numel() else 0.0
