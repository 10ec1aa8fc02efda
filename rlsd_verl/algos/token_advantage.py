r"""One entry point for every method's token advantage, and metrics that add up across workers.

:func:`token_advantages` dispatches to the pure functions of :mod:`rlsd_verl.algos.rlsd` and
:mod:`rlsd_verl.algos.baselines`. It runs on the training workers, each on its own shard of the
batch, so the driver never handles a per-token tensor of the teacher pass. Each worker returns,
per row, the row's valid-token count and the method's metrics computed on that row alone
(:func:`row_stats`); the driver combines rows with :func:`aggregate_row_stats`, which gives the
same numbers as computing the metrics on the whole batch at once:

* a token mean ``m = Σ_r n_r·m_r / Σ_r n_r`` (``n_r`` valid tokens of row ``r``);
* a population std from the rows' means and stds, ``s² = Σ_r n_r·(s_r² + m_r²) / Σ_r n_r − m²``;
* a per-row fraction (``sdpo/demo_sample_frac``) as a plain mean over rows.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from rlsd_verl.algos.baselines import (
    compute_grpo_opsd_advantages,
    compute_opsd_advantages,
    compute_sdpo_advantages,
)
from rlsd_verl.algos._tensor_utils import per_row_metrics
from rlsd_verl.algos.rlsd import compute_rlsd_advantages

#: metrics that are a fraction of rows, not of tokens
ROW_LEVEL_KEYS = frozenset({"sdpo/demo_sample_frac"})


def token_advantages(
    method: str,
    base: torch.Tensor,
    teacher_lp: torch.Tensor,
    student_lp: torch.Tensor,
    valid: torch.Tensor,
    *,
    lam: float = 0.0,
    clip_eps: float = 0.2,
    beta: float = 1.0,
    opsd_clip: Optional[float] = None,
    has_demo: Optional[torch.Tensor] = None,
    negative_only: bool = False,
    span_mask: Optional[torch.Tensor] = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """``Â`` of shape ``(batch, response_len)`` for ``method`` and its metrics (all ``(batch, T)`` inputs).

    ``negative_only`` and ``span_mask`` (``algorithm.rlsd.negative_only`` / ``thought_only``) restrict RLSD's
    multiplier (:func:`rlsd_verl.algos.rlsd.reweight_mask`); the baselines ignore them.
    """
    if method == "rlsd":
        return compute_rlsd_advantages(
            base, teacher_lp, student_lp, valid, lam=lam, clip_eps=clip_eps, negative_only=negative_only,
            span_mask=span_mask,
        )
    if method == "opsd":
        return compute_opsd_advantages(teacher_lp, student_lp, valid, clip=opsd_clip)
    if method == "grpo_opsd":
        return compute_grpo_opsd_advantages(base, teacher_lp, student_lp, valid, beta=beta, clip=opsd_clip)
    if method == "sdpo":
        if has_demo is None:
            raise ValueError("sdpo needs has_demo (which rows have a successful sibling)")
        return compute_sdpo_advantages(teacher_lp, student_lp, valid, has_demo, clip=opsd_clip)
    raise NotImplementedError(f"algorithm.adv_estimator={method} has no token advantage")


def row_stats(
    method: str,
    base: torch.Tensor,
    teacher_lp: torch.Tensor,
    student_lp: torch.Tensor,
    valid: torch.Tensor,
    **params,
) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    """``Â`` for the whole shard, plus per-row ``[counted tokens, metric_1, …]`` of shape ``(batch, 1 + K)``.

    One vectorised call of :func:`token_advantages` under
    :func:`~rlsd_verl.algos._tensor_utils.per_row_metrics`: row ``r``'s metric ``k`` is what
    ``token_advantages`` reports for row ``r`` alone; scalars (``rlsd/lambda``) are repeated per row.
    The counted tokens are the valid ones (SDPO: of rows with a demonstration). ``params`` is not changed.
    """
    with per_row_metrics():
        adv, metrics = token_advantages(method, base, teacher_lp, student_lp, valid, **params)
    keys = sorted(metrics)
    n = base.shape[0]
    counted = valid != 0  # the tokens the token metrics average over (SDPO: rows with a demonstration)
    if params.get("has_demo") is not None:
        counted = counted & params["has_demo"].reshape(-1, 1).bool()
    columns = [counted.sum(dim=1).double()]
    columns += [torch.as_tensor(metrics[k], dtype=torch.float64).reshape(-1).expand(n) for k in keys]
    return adv, keys, torch.stack(columns, dim=1).reshape(n, 1 + len(keys))


def aggregate_row_stats(keys: Sequence[str], stats: torch.Tensor, include: Optional[torch.Tensor] = None) -> dict[str, float]:
    """Batch metrics from per-row stats (:func:`row_stats`); ``include`` masks rows out (padding)."""
    stats = stats.to(torch.float64)
    if include is not None:
        stats = stats[include.bool()]
    if stats.shape[0] == 0:
        return {k: 0.0 for k in keys}
    counts = stats[:, 0]
    token_w = counts if float(counts.sum()) > 0 else torch.ones_like(counts)
    row_w = torch.ones_like(counts)
    col = {k: stats[:, 1 + j] for j, k in enumerate(keys)}
    out: dict[str, float] = {}
    for k in keys:
        w = row_w if k in ROW_LEVEL_KEYS else token_w
        out[k] = float((w * col[k]).sum() / w.sum())
    for k in keys:
        mean_key = k[: -len("_std")] + "_mean"
        if k.endswith("_std") and mean_key in col:
            second = (token_w * (col[k] ** 2 + col[mean_key] ** 2)).sum() / token_w.sum()
            out[k] = float(torch.clamp(second - out[mean_key] ** 2, min=0.0).sqrt())
    return out
