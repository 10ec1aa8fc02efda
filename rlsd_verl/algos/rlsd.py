r"""RLSD token-level advantage (Self-Distilled RLVR, arXiv:2604.03128, §4.1 and Algorithm 1).

RLSD keeps GRPO's sequence-level advantage ``A`` (the verifier sets the *direction* of every
token's update) and rescales its *magnitude* per token by how much the same model, given
privileged information ``r`` (the reference answer), agrees with the token the student sampled:

.. math::

    \Delta_t = \mathrm{sg}\big(\log P_T(y_t \mid x, r, y_{<t}) - \log P_S(y_t \mid x, y_{<t})\big)
        \qquad \text{(Eq. 13)}

    w_t = \exp\big(\mathrm{sign}(A)\,\Delta_t\big)
        = \big(P_T(y_t) / P_S(y_t)\big)^{\mathrm{sign}(A)}
        \qquad \text{(Eq. 14)}

    \hat A_t = A \cdot \big((1-\lambda) + \lambda\,\mathrm{clip}(w_t, 1-\varepsilon_w, 1+\varepsilon_w)\big)
        \qquad \text{(Eq. 15 with the λ interpolation of Algorithm 1, line 17)}

In plain text: ``Â_t = A · ((1 − λ) + λ · clip(exp(sign(A)·Δ_t), 1 − ε_w, 1 + ε_w))``.

- ``Δ_t`` and ``w_t`` are stop-gradient scalars: the only gradient path is the ordinary
  ``∇ log π_θ(y_t | x, y_<t)`` of the PPO/GRPO clipped surrogate into which ``Â_t`` is plugged.
- The multiplier lies in ``[1 − λ·ε_w, 1 + λ·ε_w]`` and is always positive (``ε_w < 1``), so the
  sign of the advantage never flips. ``A = 0`` (a group whose rollouts all got the same reward)
  gives ``Â_t = 0``.
- No per-sequence renormalisation of ``w_t`` (paper §4.1; released ``_build_stgca_advantages``).
- Paper defaults: ``ε_w = 0.2``; ``λ`` starts at 0.5 and decays linearly to 0 over the first 50
  training steps (§5.1), after which RLSD is exactly GRPO. See :func:`rlsd_lambda`.

Paper Eq. 16 writes ``min[w_t A, clip(w_t) A]`` with no policy ratio; Algorithm 1 and the released
code instead plug ``Â_t`` into the standard PPO clipped surrogate, which is what this function is
for. This module is pure tensor math (torch only): no Ray, verl trainer or transformers import.
"""

from __future__ import annotations

import numbers

import torch

from rlsd_verl.algos.failure_metrics import SIGN_SPLIT_KEYS, sign_split_token_stats
from rlsd_verl.algos._tensor_utils import (
    check_real,
    check_tensors,
    masked_frac,
    masked_log_ratio,
    masked_mean,
    masked_std,
    work_dtype,
)

__all__ = [
    "compute_rlsd_advantages",
    "rlsd_token_weights",
    "rlsd_lambda",
    "reweight_mask",
    "thought_span_mask",
    "RLSD_METRIC_KEYS",
]

#: Keys of the metrics dict returned by :func:`compute_rlsd_advantages`.
#: (No key contains "max", "min" or "total": verl's ``reduce_metrics`` treats those specially.)
RLSD_METRIC_KEYS = (
    "rlsd/lambda",
    "rlsd/delta_mean",
    "rlsd/delta_std",
    "rlsd/weight_mean",
    "rlsd/clipped_weight_mean",
    "rlsd/clip_low_frac",
    "rlsd/clip_high_frac",
    "rlsd/clip_frac",
    "rlsd/adv_abs_mean_before",
    "rlsd/adv_abs_mean_after",
    "rlsd/adv_mean_after",
    "rlsd/multiplier_mean",
    "rlsd/reweighted_frac",
) + SIGN_SPLIT_KEYS


def compute_rlsd_advantages(
    advantages: torch.Tensor,
    teacher_log_probs: torch.Tensor,
    student_log_probs: torch.Tensor,
    response_mask: torch.Tensor,
    lam: float,
    clip_eps: float = 0.2,
    negative_only: bool = False,
    span_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    r"""Reweight a token-broadcast GRPO advantage with the RLSD evidence ratio.

    ``Â_t = A · ((1 − λ) + λ · clip(w_t, 1 − ε, 1 + ε))`` with
    ``w_t = exp(sign(A) · Δ_t)`` and ``Δ_t = sg(log P_T(y_t) − log P_S(y_t))``
    (paper Eq. 13–15; Algorithm 1, line 17). Computed as ``A · (1 + λ·(clip(w_t) − 1))``,
    which is the same number but is *exactly* ``A`` when ``λ = 0`` or ``w_t`` is unclipped 1.

    Args:
        advantages (`torch.Tensor` of shape `(batch, response_len)`):
            GRPO advantage broadcast to every response token, as verl stores it in
            ``batch["advantages"]`` (it may already be 0 outside ``response_mask``).
        teacher_log_probs (`torch.Tensor` of shape `(batch, response_len)`):
            ``log P_T(y_t | x, r, y_<t)``: log-prob of the student's sampled token under the
            teacher context (the prompt with privileged information ``r``).
        student_log_probs (`torch.Tensor` of shape `(batch, response_len)`):
            ``log P_S(y_t | x, y_<t)``: log-prob of the same token under the student prompt
            (verl's ``old_log_probs``; equal to the current policy with one update per rollout).
        response_mask (`torch.Tensor` of shape `(batch, response_len)`):
            Non-zero on response tokens that enter the loss. Padding may hold any value in the
            log-prob tensors, ``-inf`` and NaN included: it is masked before any arithmetic.
        lam (`float`):
            Interpolation weight ``λ ∈ [0, 1]`` between the uniform (``λ = 0``: plain GRPO) and the
            reweighted advantage. Usually ``rlsd_lambda(step)``.
        clip_eps (`float`, *optional*, defaults to `0.2`):
            ``ε_w ∈ [0, 1)``, half-width of the clip on ``w_t`` (paper: 0.2). ``< 1`` keeps every
            multiplier positive, so the verifier's sign is never flipped.
        negative_only (`bool`, *optional*, defaults to `False`):
            The released code's ``rlsd_negative_only``: the multiplier is 1 on responses with ``A ≥ 0``,
            so only responses below their group's mean get token credit (see :func:`reweight_mask`).
        span_mask (`torch.Tensor` of shape `(batch, response_len)`, *optional*):
            Non-zero where the multiplier may differ from 1 (the released ``rlsd_thought_only``: the
            ``<thought>…</thought>`` span, see :func:`thought_span_mask`); ``None`` = every token.

    Returns:
        `tuple[torch.Tensor, dict[str, float]]`:
            - ``Â`` of shape `(batch, response_len)`, dtype at least float32 (float64 inputs stay
              float64), exactly 0 outside ``response_mask``, with no autograd history (every input
              is detached).
            - Metrics over valid tokens only (all 0.0 for an empty mask): ``rlsd/lambda``,
              ``rlsd/delta_mean``, ``rlsd/delta_std`` (population std of ``Δ_t``),
              ``rlsd/weight_mean`` (raw ``w_t``), ``rlsd/clipped_weight_mean``,
              ``rlsd/clip_low_frac`` (``w_t < 1 − ε``), ``rlsd/clip_high_frac`` (``w_t > 1 + ε``),
              ``rlsd/clip_frac`` (their sum; the paper's Fig. 5c "clip ratio"),
              ``rlsd/adv_abs_mean_before`` (mean ``|A|``), ``rlsd/adv_abs_mean_after``
              (mean ``|Â|``), ``rlsd/multiplier_mean`` (mean ``Â_t / A``, i.e. of
              ``(1 − λ) + λ·clip(w_t)``). Tokens with ``A = 0`` count with ``w_t = 1``.
              ``rlsd/reweighted_frac``: share of valid tokens where the restriction lets the multiplier
              act (1.0 without ``negative_only``/``span_mask``). Δ, w and the clip fractions are over all
              valid tokens whatever the restriction. Plus the sign-split partial sums of
              :func:`rlsd_verl.algos.failure_metrics.sign_split_token_stats` (``rlsd/split_*``).

    Raises:
        TypeError: an input is not a tensor, or ``lam``/``clip_eps`` is not a real number.
        ValueError: shapes differ or are not 2-D; ``lam`` outside [0, 1]; ``clip_eps`` outside
            [0, 1); a log-prob is not finite at a valid position (misaligned tensors).
    """
    adv, valid, dtype = _masked_advantages(advantages, teacher_log_probs, student_log_probs, response_mask)
    lam = check_real("lam", lam, 0.0, 1.0)
    clip_eps = check_real("clip_eps", clip_eps, 0.0, 1.0, high_open=True)
    count = int(valid.sum().item())
    if not bool(torch.isfinite(adv).all()):
        raise ValueError("advantages is not finite at some valid (response_mask != 0) position")

    delta, weight = _delta_and_weight(adv, teacher_log_probs, student_log_probs, valid, dtype)
    clipped = weight.clamp(1.0 - clip_eps, 1.0 + clip_eps)  # Eq. 15
    active = reweight_mask(adv, valid, negative_only=negative_only, span_mask=span_mask)
    # == (1 - λ) + λ·clip(w) where the restriction lets it act, exactly 1 elsewhere; Algorithm 1, line 17
    multiplier = torch.where(active, 1.0 + lam * (clipped - 1.0), torch.ones((), dtype=dtype, device=valid.device))
    rlsd_adv = torch.where(valid, adv * multiplier, torch.zeros((), dtype=dtype, device=valid.device))

    clip_low = masked_frac(weight < 1.0 - clip_eps, valid, count)
    clip_high = masked_frac(weight > 1.0 + clip_eps, valid, count)
    metrics = {
        "rlsd/lambda": lam,
        "rlsd/delta_mean": masked_mean(delta, valid, count),
        "rlsd/delta_std": masked_std(delta, valid, count),
        "rlsd/weight_mean": masked_mean(weight, valid, count),
        "rlsd/clipped_weight_mean": masked_mean(clipped, valid, count),
        "rlsd/clip_low_frac": clip_low,
        "rlsd/clip_high_frac": clip_high,
        "rlsd/clip_frac": clip_low + clip_high,
        "rlsd/adv_abs_mean_before": masked_mean(adv.abs(), valid, count),
        "rlsd/adv_abs_mean_after": masked_mean(rlsd_adv.abs(), valid, count),
        # signed token mean of Â: what verl's critic/advantages/mean reports when Â reaches the loss
        "rlsd/adv_mean_after": masked_mean(rlsd_adv, valid, count),
        "rlsd/multiplier_mean": masked_mean(multiplier, valid, count),
        "rlsd/reweighted_frac": masked_frac(active, valid, count),
    }
    metrics.update(sign_split_token_stats(adv, delta, weight, valid, clip_eps))
    return rlsd_adv, metrics


def reweight_mask(
    advantages: torch.Tensor,
    valid: torch.Tensor,
    *,
    negative_only: bool = False,
    span_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Where RLSD's multiplier may act: ``valid ∧ (A < 0 if negative_only) ∧ span_mask``.

    Everywhere else the multiplier is exactly 1 and ``Â_t = A`` (plain GRPO on those tokens).

    * ``negative_only`` — the released code's ``rlsd_negative_only`` and ms-swift's
      ``--rlsd_negative_only``: responses with ``A ≥ 0`` keep the uniform advantage, so only wrong
      (below-mean) responses get token credit. The authors' reason: reweighting correct responses
      under-reinforces their reasoning tokens, which they link to a collapse of response length.
    * ``span_mask`` — the released ``rlsd_thought_only``: only tokens inside the thought span are
      reweighted (:func:`thought_span_mask`).

    Returns a bool tensor of ``valid``'s shape.
    """
    active = valid.detach() != 0
    if negative_only:
        active = active & (advantages.detach() < 0)
    if span_mask is not None:
        if not isinstance(span_mask, torch.Tensor) or span_mask.shape != valid.shape:
            raise ValueError(
                f"span_mask must be a tensor of the response shape {tuple(valid.shape)}, got "
                f"{tuple(span_mask.shape) if isinstance(span_mask, torch.Tensor) else type(span_mask).__name__}"
            )
        active = active & (span_mask.detach() != 0)
    return active


def _tag_starts(ids: torch.Tensor, tag: torch.Tensor) -> torch.Tensor:
    """``(batch, T)`` bool: the token sequence ``tag`` starts at position t (vectorised, no Python loop over rows)."""
    n, length = ids.shape[1], int(tag.numel())
    if length == 0 or length > n:
        return torch.zeros(ids.shape, dtype=torch.bool, device=ids.device)
    windows = ids.unfold(1, length, 1)  # (batch, T - L + 1, L)
    hit = (windows == tag.to(ids.device, ids.dtype)).all(-1)
    return torch.nn.functional.pad(hit, (0, length - 1), value=False)


def thought_span_mask(
    response_ids: torch.Tensor,
    valid: torch.Tensor,
    open_ids,
    close_ids,
) -> torch.Tensor:
    r"""``(batch, T)`` bool: the tokens of each response's first thought span, tags included.

    The span runs from the first token of the first ``open_ids`` sequence through the last token of
    the first ``close_ids`` sequence after it (the released ``rlsd_thought_only`` reweights inside
    ``<thought>…</thought>`` only). Documented edge cases:

    * no opening tag → an empty span: the response keeps ``Â_t = A`` on every token (plain GRPO for it);
    * an opening tag never closed (a truncated thought) → the span runs to the end of the response;
    * only the first span counts; tokens outside ``valid`` are never in it.

    Tags are matched as token sequences (``tokenizer.encode(tag, add_special_tokens=False)``): a tag
    that the tokenizer merges with its neighbours in context (e.g. with a leading space) is not found;
    ``rlsd/reweighted_frac`` shows how many tokens were in a span.

    Vectorised over the batch: one ``unfold`` per tag, no loop over responses.
    """
    if not isinstance(response_ids, torch.Tensor) or response_ids.dim() != 2 or response_ids.shape != valid.shape:
        raise ValueError(
            f"response_ids must be a (batch, response_len) tensor of the response_mask's shape {tuple(valid.shape)}"
        )
    open_t = torch.as_tensor(list(open_ids), dtype=torch.int64)
    close_t = torch.as_tensor(list(close_ids), dtype=torch.int64)
    if open_t.numel() == 0 or close_t.numel() == 0:
        raise ValueError("thought_span_mask needs non-empty open_ids and close_ids (the tags' token ids)")
    ids = response_ids.detach().to(torch.int64)
    batch, n = ids.shape
    pos = torch.arange(n, device=ids.device).expand(batch, n)
    big = torch.full((), n, device=ids.device, dtype=torch.int64)
    first_open = torch.where(_tag_starts(ids, open_t), pos, big).min(-1, keepdim=True).values if n else big
    after_open = pos >= first_open + open_t.numel()
    first_close = torch.where(_tag_starts(ids, close_t) & after_open, pos, big).min(-1, keepdim=True).values
    end = torch.clamp(first_close + close_t.numel(), max=n)  # no close: to the end of the response
    return (pos >= first_open) & (pos < end) & (valid.detach() != 0)


def rlsd_token_weights(
    advantages: torch.Tensor,
    teacher_log_probs: torch.Tensor,
    student_log_probs: torch.Tensor,
    response_mask: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(Δ_t, w_t)`` of Eq. 13–14, the per-token evidence :func:`compute_rlsd_advantages` clips and mixes.

    ``Δ_t = sg(log P_T(y_t) − log P_S(y_t))`` and ``w_t = exp(sign(A)·Δ_t)``, both exactly 0 / 1 outside
    ``response_mask`` (and ``w_t = 1`` where ``A = 0``). Same inputs, checks and dtype rules as
    :func:`compute_rlsd_advantages`; used to record token credit (``algorithm.rlsd.dump_tokens``).
    """
    adv, valid, dtype = _masked_advantages(advantages, teacher_log_probs, student_log_probs, response_mask)
    return _delta_and_weight(adv, teacher_log_probs, student_log_probs, valid, dtype)


def _masked_advantages(advantages, teacher_log_probs, student_log_probs, response_mask):
    """The checked inputs of Eq. 13–15: ``(A detached in the work dtype, 0 outside the mask; valid mask; dtype)``."""
    check_tensors(
        "advantages",
        advantages=advantages,
        teacher_log_probs=teacher_log_probs,
        student_log_probs=student_log_probs,
        response_mask=response_mask,
    )
    dtype = work_dtype(advantages, teacher_log_probs, student_log_probs)
    valid = response_mask.detach() != 0
    adv = torch.where(valid, advantages.detach().to(dtype), torch.zeros((), dtype=dtype, device=valid.device))
    return adv, valid, dtype


def _delta_and_weight(adv, teacher_log_probs, student_log_probs, valid, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 13–14 on masked inputs: Δ_t (0 outside the mask) and w_t (exactly 1 where A = 0 or outside it)."""
    delta = masked_log_ratio(teacher_log_probs, student_log_probs, valid, dtype)
    return delta, torch.exp(torch.sign(adv) * delta)


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < 0:
        raise ValueError(f"{name}={value} must be >= 0")
    return int(value)


def rlsd_lambda(step: int, lambda_init: float = 0.5, decay_steps: int = 50, warmup_steps: int = 0) -> float:
    r"""The RLSD interpolation weight ``λ`` for an update, linear warm-up then linear decay.

    ``step`` is the number of trainer steps already taken (verl's ``global_steps − 1``: 0 for the first
    update; one step per rollout batch, however many mini-batches or PPO epochs it is split into)::

        λ(step) = lambda_init · step / warmup_steps                               if step < warmup_steps
        λ(step) = lambda_init · max(0, 1 − (step − warmup_steps) / decay_steps)   otherwise
        λ(step) = lambda_init                                   after warm-up if decay_steps == 0

    Paper §5.1: "λ … is initialized at 0.5 and linearly decayed to 0 over the first 50 training
    steps" (``lambda_init=0.5, decay_steps=50, warmup_steps=0``): ``λ(0) = 0.5``, ``λ(25) = 0.25``,
    ``λ(step ≥ 50) = 0``, from which point RLSD is exactly GRPO. (The released code counts steps
    from 1, so its first update already uses ``0.5·(1 − 1/D)``; its script also uses ``D = 60``.)

    Args:
        step (`int`): trainer steps already taken, ``>= 0``.
        lambda_init (`float`, *optional*, defaults to `0.5`): peak ``λ``, in [0, 1].
        decay_steps (`int`, *optional*, defaults to `50`): length of the linear decay to 0, ``>= 0``;
            0 keeps ``λ = lambda_init`` forever after the warm-up.
        warmup_steps (`int`, *optional*, defaults to `0`): length of a linear ramp from 0 to
            ``lambda_init`` before the decay starts, ``>= 0``.

    Returns:
        `float`: ``λ ∈ [0, lambda_init]``.
    """
    step = _check_count("step", step)
    lambda_init = check_real("lambda_init", lambda_init, 0.0, 1.0)
    decay_steps = _check_count("decay_steps", decay_steps)
    warmup_steps = _check_count("warmup_steps", warmup_steps)

    if step < warmup_steps:
        return lambda_init * step / warmup_steps
    if decay_steps == 0:
        return lambda_init
    return lambda_init * max(0.0, 1.0 - (step - warmup_steps) / decay_steps)
