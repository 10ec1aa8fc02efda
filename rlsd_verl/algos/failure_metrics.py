r"""Metrics for RLSD's known failure modes, logged every step (pure functions; torch only).

The failure modes reported for RLSD and its relatives: responses that shrink (RLCSD: "RLSD steadily
decreases response length on math"), collapse to truncation (a 9B prime-rl run of an RLSD variant at
step 40), and a teacher whose evidence points the wrong way (with the paper's template SmolLM2-135M's
teacher raises *wrong* answers). Per step:

=====================================  ==================================================================
``failure/response_length_correct``     mean response length (tokens) of correct responses
``failure/response_length_wrong``       the same for wrong responses
``failure/truncated_frac``              share of responses of ``max_response_length`` tokens (cut off)
``failure/correct_frac``                share of correct responses
``failure/delta_mean_pos_adv``          mean Δ_t over tokens of responses with A > 0 (above their group)
``failure/delta_mean_neg_adv``          mean Δ_t over tokens of responses with A < 0
``failure/clip_frac_pos_adv``           share of clipped w_t (either side) among tokens with A > 0
``failure/clip_frac_neg_adv``           the same among tokens with A < 0
``failure/token_frac_pos_adv``          share of valid tokens in responses with A > 0 (``_neg_adv``: A < 0)
=====================================  ==================================================================

"correct" is a sequence reward ``≥ threshold`` (the trainer passes ``algorithm.rlsd.sdpo_success_threshold``,
1.0: the package's verifiers give 1 to a correct answer), as the token dumps decide it. The Δ and clip
splits use the sign of A — with 0/1 rewards A > 0 is a correct response of a mixed group; responses of
all-correct or all-wrong groups (A = 0) get w_t = 1 and are in neither split.

**How the Δ/clip split crosses the workers.** The token advantage runs on the training workers, which send
per-row metrics that the driver averages weighted by each row's valid tokens
(:func:`rlsd_verl.algos.token_advantage.aggregate_row_stats`). A conditional mean does not survive that
average, so :func:`sign_split_token_stats` emits *shares of all valid tokens* (``rlsd/split_*``), which do:
``Σ_r n_r · (S_r / n_r) / Σ_r n_r = S / N``. :func:`finalize_sign_split` divides them on the driver:
``delta_mean_pos_adv = (Σ_{A>0} Δ_t / N) / (N_{A>0} / N)``.
"""

from __future__ import annotations

import torch

from rlsd_verl.algos._tensor_utils import masked_frac, masked_mean

__all__ = [
    "SIGN_SPLIT_KEYS",
    "FAILURE_METRIC_KEYS",
    "sign_split_token_stats",
    "finalize_sign_split",
    "response_outcome_metrics",
]

#: partial sums sent by the workers (shares of all valid tokens); removed by :func:`finalize_sign_split`
SIGN_SPLIT_KEYS = (
    "rlsd/split_pos_token_share",
    "rlsd/split_neg_token_share",
    "rlsd/split_pos_delta_share",
    "rlsd/split_neg_delta_share",
    "rlsd/split_pos_clip_share",
    "rlsd/split_neg_clip_share",
)

#: every key the two public metric functions return
FAILURE_METRIC_KEYS = (
    "failure/response_length_correct",
    "failure/response_length_wrong",
    "failure/truncated_frac",
    "failure/correct_frac",
    "failure/delta_mean_pos_adv",
    "failure/delta_mean_neg_adv",
    "failure/clip_frac_pos_adv",
    "failure/clip_frac_neg_adv",
    "failure/token_frac_pos_adv",
    "failure/token_frac_neg_adv",
)


def sign_split_token_stats(
    advantages: torch.Tensor, delta: torch.Tensor, weight: torch.Tensor, valid: torch.Tensor, clip_eps: float
) -> dict[str, float]:
    r"""Shares of the ``N`` valid tokens, split by the sign of A: ``N_± / N``, ``Σ_± Δ_t / N``, ``#clipped_± / N``.

    "clipped" is ``w_t < 1 − ε`` or ``w_t > 1 + ε``. All 0.0 for an empty mask. Inputs are ``(batch, T)``
    tensors already masked by the caller (``delta`` 0 outside ``valid``).
    """
    valid = valid.detach() != 0
    n = int(valid.sum())
    adv = advantages.detach()
    clipped = (weight.detach() < 1.0 - clip_eps) | (weight.detach() > 1.0 + clip_eps)
    out = {}
    for name, side in (("pos", adv > 0), ("neg", adv < 0)):
        # masked_*: plain floats, or per row inside per_row_metrics (row_stats)
        out[f"rlsd/split_{name}_token_share"] = masked_frac(side, valid, n)
        out[f"rlsd/split_{name}_delta_share"] = masked_mean(torch.where(side, delta.detach(), 0.0), valid, n)
        out[f"rlsd/split_{name}_clip_share"] = masked_frac(side & clipped, valid, n)
    return out


def finalize_sign_split(metrics: dict, prefix: str = "rlsd") -> dict[str, float]:
    """Pop the ``{prefix}/split_*`` shares out of ``metrics`` and return the ``failure/*`` Δ and clip splits.

    ``failure/delta_mean_pos_adv = split_pos_delta_share / split_pos_token_share`` (NaN-free: 0.0 when no
    token has that sign). Returns ``{}`` when ``metrics`` holds no split (GRPO, or a step without a teacher).
    """
    keys = [k.replace("rlsd/", f"{prefix}/", 1) for k in SIGN_SPLIT_KEYS]
    if not all(k in metrics for k in keys):
        for k in keys:
            metrics.pop(k, None)
        return {}
    s = {k.split("/split_", 1)[1]: float(metrics.pop(k)) for k in keys}
    out = {}
    for name in ("pos", "neg"):
        tokens = s[f"{name}_token_share"]
        out[f"failure/token_frac_{name}_adv"] = tokens
        out[f"failure/delta_mean_{name}_adv"] = s[f"{name}_delta_share"] / tokens if tokens > 0 else 0.0
        out[f"failure/clip_frac_{name}_adv"] = s[f"{name}_clip_share"] / tokens if tokens > 0 else 0.0
    return out


def response_outcome_metrics(
    lengths: torch.Tensor, scores: torch.Tensor, max_response_length: int, threshold: float = 1.0
) -> dict[str, float]:
    r"""Response length by outcome and the truncated share, from per-response scalars (vectorised).

    Args:
        lengths: ``(n,)`` response lengths in tokens (real responses only, no padding rows).
        scores: ``(n,)`` sequence rewards; correct is ``score ≥ threshold``.
        max_response_length: ``data.max_response_length``; a response of this length was cut off.
        threshold: the reward of a correct response.

    Returns ``failure/response_length_correct`` / ``_wrong`` (0.0 when there is none of that kind),
    ``failure/truncated_frac`` and ``failure/correct_frac`` (all 0.0 for no responses).
    """
    lengths = torch.as_tensor(lengths, dtype=torch.float64).reshape(-1)
    scores = torch.as_tensor(scores, dtype=torch.float64).reshape(-1)
    if lengths.shape != scores.shape:
        raise ValueError(f"lengths {tuple(lengths.shape)} and scores {tuple(scores.shape)} must have one value per response")
    if int(max_response_length) < 1:
        raise ValueError(f"max_response_length={max_response_length} must be >= 1 (data.max_response_length)")
    n = lengths.numel()
    if n == 0:
        return {k: 0.0 for k in FAILURE_METRIC_KEYS[:4]}
    correct = scores >= threshold

    def mean(mask: torch.Tensor) -> float:
        return float(lengths[mask].mean()) if bool(mask.any()) else 0.0

    return {
        "failure/response_length_correct": mean(correct),
        "failure/response_length_wrong": mean(~correct),
        "failure/truncated_frac": float((lengths >= int(max_response_length)).double().mean()),
        "failure/correct_frac": float(correct.double().mean()),
    }
