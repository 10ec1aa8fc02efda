r"""The paper's comparison estimators as pure token-level advantages (arXiv:2604.03128, §4.3 and §5).

The paper's unified view (§4.3, Eq. 17) writes every method as
``Δθ ∝ E_{y~P_S}[ Σ_t Â_t ∇ log P_S(y_t | x, y_<t) ]`` and lets them differ only in ``Â_t``
(``Δ_t = sg(log P_T(y_t | x, r, y_<t) − log P_S(y_t | x, y_<t))``, ``A`` = GRPO advantage):

=================  ==============================  ================  ==================
Method             ``Â_t``                         direction from    magnitude from
=================  ==============================  ================  ==================
GRPO               ``A``                           verifier          uniform
OPSD               ``Δ_t``                         teacher           teacher
GRPO+OPSD          ``A + β·Δ_t``                   both (mixed)      both
SDPO               ``Δ_t`` (demo teacher)          teacher           teacher
RLSD               ``A·((1−λ)+λ·clip(w_t))``       verifier          teacher
=================  ==============================  ================  ==================

Each function here returns that ``Â_t`` so that a baseline runs through the same PPO clipped
surrogate as RLSD (verl's ``vanilla`` policy loss), i.e. the **sampled-token policy-gradient
form** of the baseline's distillation term: for a reverse KL,
``∇ KL(P_S ‖ P_T) = E_{y~P_S}[(log P_S − log P_T) ∇ log P_S]``, so descending it is a policy
gradient with per-token advantage ``Δ_t`` (the "k1" estimator with discount 0, as in Thinking
Machines' on-policy distillation and verl's ``distillation.use_policy_gradient``).

What this is *not*: OPSD and SDPO as published minimise a full- or top-k-vocabulary divergence
(OPSD: generalised JSD, paper Eq. 6; SDPO: JSD with ``α``, top-k plus a tail bucket). Those need
the teacher's full next-token distribution, which a sampled-token pipeline does not have. Label
runs of these functions "OPSD (sampled-token reverse KL)" etc., not full-vocabulary OPSD/SDPO.

Pure torch/numpy/stdlib: no Ray, verl trainer or transformers import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np
import torch

from rlsd_verl.algos.config import SDPO_SELECTIONS  # noqa: F401  (re-exported)
from rlsd_verl.algos._tensor_utils import (
    check_real,
    check_tensors,
    masked_frac,
    masked_log_ratio,
    masked_mean,
    masked_std,
    row_frac,
    work_dtype,
)

__all__ = [
    "compute_opsd_advantages",
    "compute_grpo_opsd_advantages",
    "compute_sdpo_advantages",
    "select_sdpo_demonstrations",
    "SDPO_SELECTIONS",
]



def _check_clip(clip) -> float | None:
    if clip is None:
        return None
    clip = check_real("clip", clip, 0.0)
    if clip == 0.0:
        raise ValueError("clip=0 would zero every advantage; pass clip=None for no clamp, or a positive bound")
    return clip


def _check_log_probs(teacher_log_probs, student_log_probs, response_mask, clip) -> float | None:
    """Check the token-level inputs of a distillation advantage (aligned 2-D tensors) and return the checked clip."""
    check_tensors(
        "teacher_log_probs",
        teacher_log_probs=teacher_log_probs,
        student_log_probs=student_log_probs,
        response_mask=response_mask,
    )
    return _check_clip(clip)


def _clamped_delta(delta: torch.Tensor, clip: float | None) -> torch.Tensor:
    return delta if clip is None else delta.clamp(-clip, clip)


def compute_opsd_advantages(
    teacher_log_probs: torch.Tensor,
    student_log_probs: torch.Tensor,
    response_mask: torch.Tensor,
    clip: float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    r"""On-policy self-distillation (OPSD) as a sampled-token policy-gradient advantage: ``Â_t = Δ_t``.

    OPSD (Zhao et al. 2026, arXiv:2601.18734; RLSD paper Eq. 6) minimises
    ``E_{(x,r)} E_{ŷ~P_S}[(1/|ŷ|) Σ_t D(P_T ‖ P_S)]`` with the same model as student and as
    teacher (the teacher sees privileged ``r``), gradients only through ``P_S``. With ``D`` the
    reverse KL estimated on the sampled token, the per-token advantage is

        ``Â_t = clamp(Δ_t, −clip, clip)``,  ``Δ_t = sg(log P_T(y_t | x, r, y_<t) − log P_S(y_t | x, y_<t))``

    (the RLSD paper's unified-view row, Eq. 17): the teacher sets both direction and magnitude and
    the verifier's reward plays no part. The optional symmetric clamp bounds single-token outliers
    (the OPSD authors recommend point-wise clipping against late-training collapse, OPSD issue #20).

    Args:
        teacher_log_probs (`torch.Tensor` of shape `(batch, response_len)`): ``log P_T`` of the sampled tokens.
        student_log_probs (`torch.Tensor` of shape `(batch, response_len)`): ``log P_S`` of the same tokens.
        response_mask (`torch.Tensor` of shape `(batch, response_len)`): non-zero on loss tokens.
        clip (`float` or `None`, *optional*, defaults to `None`): if set (``> 0``), clamp ``Δ_t`` to
            ``[−clip, clip]``.

    Returns:
        `tuple[torch.Tensor, dict[str, float]]`: ``Â`` (at least float32, 0 outside the mask, detached)
        and metrics over valid tokens: ``opsd/delta_mean``, ``opsd/delta_std``, ``opsd/adv_abs_mean``,
        ``opsd/clip_frac`` (fraction of tokens with ``|Δ_t| > clip``; 0 without a clip).
    """
    clip = _check_log_probs(teacher_log_probs, student_log_probs, response_mask, clip)
    dtype = work_dtype(teacher_log_probs, student_log_probs)
    valid = response_mask.detach() != 0
    count = int(valid.sum().item())
    delta = masked_log_ratio(teacher_log_probs, student_log_probs, valid, dtype)
    adv = _clamped_delta(delta, clip)
    metrics = {
        "opsd/delta_mean": masked_mean(delta, valid, count),
        "opsd/delta_std": masked_std(delta, valid, count),
        "opsd/adv_abs_mean": masked_mean(adv.abs(), valid, count),
        "opsd/clip_frac": 0.0 if clip is None else masked_frac(delta.abs() > clip, valid, count),
    }
    return adv, metrics


def compute_grpo_opsd_advantages(
    advantages: torch.Tensor,
    teacher_log_probs: torch.Tensor,
    student_log_probs: torch.Tensor,
    response_mask: torch.Tensor,
    beta: float,
    clip: float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    r"""GRPO+OPSD: the GRPO advantage plus a weighted self-distillation term, ``Â_t = A + β·Δ_t``.

    The paper's GRPO+OPSD baseline (§5, inspired by MOPD in MiMo-v2-Flash) "combine[s] the GRPO
    loss with a distillation KL divergence loss via linear interpolation with a tuned weighting
    coefficient", using the OPSD self-teacher. In sampled-token policy-gradient form
    ``L_GRPO + β·KL(P_S ‖ P_T)`` has the per-token advantage

        ``Â_t = A + β · clamp(Δ_t, −clip, clip)``

    A convex mix ``(1 − α)·L_GRPO + α·L_KL`` is the same update up to an overall scale, with
    ``β = α / (1 − α)``. The paper does not report its coefficient. Unlike RLSD, the teacher term
    can flip the verifier's sign on a token (``grpo_opsd/sign_flip_frac`` measures how often).

    Args:
        advantages (`torch.Tensor` of shape `(batch, response_len)`): token-broadcast GRPO advantage.
        teacher_log_probs, student_log_probs, response_mask: as in :func:`compute_opsd_advantages`.
        beta (`float`): weight ``β >= 0`` of the distillation term; ``β = 0`` is exactly GRPO.
        clip (`float` or `None`, *optional*, defaults to `None`): optional symmetric clamp of ``Δ_t``.

    Returns:
        `tuple[torch.Tensor, dict[str, float]]`: ``Â`` (at least float32, 0 outside the mask, detached)
        and metrics over valid tokens: ``grpo_opsd/beta``, ``grpo_opsd/delta_mean``,
        ``grpo_opsd/delta_std``, ``grpo_opsd/adv_abs_mean_before`` (``|A|``),
        ``grpo_opsd/adv_abs_mean_after`` (``|Â|``), ``grpo_opsd/distill_abs_mean`` (``|β·Δ_t|`` after
        the clamp), ``grpo_opsd/clip_frac``, ``grpo_opsd/sign_flip_frac`` (tokens with ``A ≠ 0`` and
        ``sign(Â) ≠ sign(A)``, over all valid tokens).
    """
    check_tensors(
        "advantages",
        advantages=advantages,
        teacher_log_probs=teacher_log_probs,
        student_log_probs=student_log_probs,
        response_mask=response_mask,
    )
    beta = check_real("beta", beta, 0.0)
    clip = _check_clip(clip)
    dtype = work_dtype(advantages, teacher_log_probs, student_log_probs)
    valid = response_mask.detach() != 0
    count = int(valid.sum().item())
    zero = torch.zeros((), dtype=dtype, device=valid.device)
    adv = torch.where(valid, advantages.detach().to(dtype), zero)
    if not bool(torch.isfinite(adv).all()):
        raise ValueError("advantages is not finite at some valid (response_mask != 0) position")
    delta = masked_log_ratio(teacher_log_probs, student_log_probs, valid, dtype)
    distill = beta * _clamped_delta(delta, clip)
    out = torch.where(valid, adv + distill, zero)
    flipped = (adv != 0) & (torch.sign(out) != torch.sign(adv))
    metrics = {
        "grpo_opsd/beta": beta,
        "grpo_opsd/delta_mean": masked_mean(delta, valid, count),
        "grpo_opsd/delta_std": masked_std(delta, valid, count),
        "grpo_opsd/adv_abs_mean_before": masked_mean(adv.abs(), valid, count),
        "grpo_opsd/adv_abs_mean_after": masked_mean(out.abs(), valid, count),
        "grpo_opsd/distill_abs_mean": masked_mean(distill.abs(), valid, count),
        "grpo_opsd/clip_frac": 0.0 if clip is None else masked_frac(delta.abs() > clip, valid, count),
        "grpo_opsd/sign_flip_frac": masked_frac(flipped, valid, count),
    }
    return out, metrics


def select_sdpo_demonstrations(
    uids: Sequence[Hashable],
    scores: Sequence[float],
    success_threshold: float = 1.0,
    *,
    exclude_self: bool = True,
    selection: str = "first",
    lengths: Sequence[int] | None = None,
    rng: int | np.random.Generator | None = None,
) -> list[int | None]:
    r"""SDPO teacher context: for each rollout, the index of a successful sibling in its group.

    SDPO (Hübotter et al. 2026, arXiv:2601.20802) builds the self-teacher's prompt from the
    question plus a *successful* rollout of the same question ("a successful previous rollout as
    privileged context", RLSD paper §5). A rollout is successful when ``score >= success_threshold``;
    siblings share a ``uid`` (verl's per-prompt group id).

    Self-exclusion follows SDPO's ``dont_reprompt_on_self_success`` (on by default there): with
    ``exclude_self=True`` a rollout is never its own demonstration, so a group's *only* success gets
    ``None`` (no teacher signal; the teacher would otherwise just re-read the answer it produced).
    With ``exclude_self=False`` another success is still preferred and the rollout's own response
    is used only when it is the group's sole success. (lasgroup/SDPO with the flag off takes the
    first success even when that is the rollout itself; we never do when a sibling exists.)

    Args:
        uids (`Sequence[Hashable]`): group id of each rollout (``non_tensor_batch["uid"]``).
        scores (`Sequence[float]`): sequence-level reward of each rollout.
        success_threshold (`float`, *optional*, defaults to `1.0`): minimum score of a
            demonstration. 1.0 = "the verifier says correct" for 0/1 rewards (lasgroup/SDPO and
            TRL default). Lower it for rewards with a format bonus (e.g. the paper's
            ``0.9·acc + 0.1·format`` math reward needs ``0.9``).
        exclude_self (`bool`, *optional*, defaults to `True`): see above.
        selection (`str`, *optional*, defaults to `"first"`): which success when several qualify:
            ``"first"`` the lowest index (lasgroup/SDPO ``solution_idxs[0]``); ``"random"`` uniform,
            drawn from ``rng``; ``"shortest"`` the one with the fewest ``lengths`` (ties: lowest
            index), as in the RLSD authors' SDPO baseline (``_select_sdpo_feedback``: shortest
            correct rollout).
        lengths (`Sequence[int]`, *optional*): response lengths, required for ``"shortest"``.
        rng (`int`, `numpy.random.Generator` or `None`, *optional*): seed or generator for
            ``"random"``; the same seed gives the same selection.

    Returns:
        `list[int | None]`: per rollout, a batch index ``j`` with ``uids[j] == uids[i]`` and
        ``scores[j] >= success_threshold`` (never ``i`` itself when ``exclude_self``, and never
        ``i`` when another success exists), or ``None`` when there is none.
    """
    n = len(uids)
    if len(scores) != n:
        raise ValueError(f"uids has {n} entries but scores has {len(scores)}; give one score per rollout")
    success_threshold = check_real("success_threshold", success_threshold)
    if selection not in SDPO_SELECTIONS:
        raise ValueError(f"selection={selection!r} is not one of {SDPO_SELECTIONS}")
    if selection == "shortest":
        if lengths is None:
            raise ValueError("selection='shortest' needs lengths= (one response length per rollout)")
        if len(lengths) != n:
            raise ValueError(f"uids has {n} entries but lengths has {len(lengths)}")
    score_arr = np.asarray(scores, dtype=np.float64).reshape(-1)
    if np.isnan(score_arr).any():
        raise ValueError("scores contains NaN; every rollout needs a reward to decide whether it succeeded")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    successes: dict[Hashable, list[int]] = defaultdict(list)
    for i, uid in enumerate(uids):
        if score_arr[i] >= success_threshold:
            successes[uid].append(i)

    chosen: list[int | None] = []
    for i, uid in enumerate(uids):
        group = successes.get(uid, [])
        candidates = [j for j in group if j != i]
        if not candidates and not exclude_self and i in group:
            candidates = [i]
        if not candidates:
            chosen.append(None)
        elif selection == "first":
            chosen.append(candidates[0])
        elif selection == "random":
            chosen.append(candidates[int(generator.integers(len(candidates)))])
        else:
            chosen.append(min(candidates, key=lambda j: (lengths[j], j)))
    return chosen


def select_sdpo_feedback(
    uids: Sequence[Hashable],
    scores: Sequence[float],
    lengths: Sequence[int],
    success_threshold: float = 1.0,
    include: Sequence[bool] | None = None,
) -> list[int | None]:
    r"""SDPO's optional feedback: for each rollout, its group's shortest *unsuccessful* sibling.

    With ``algorithm.rlsd.sdpo_feedback=True`` the teacher prompt also shows a failed attempt of the
    same question (the RLSD authors' ``_select_sdpo_feedback``: the shortest failure, ties to the
    lowest index). A rollout is never its own feedback.

    Args:
        uids, scores, success_threshold: as in :func:`select_sdpo_demonstrations`.
        lengths (`Sequence[int]`): response lengths.
        include (`Sequence[bool]`, *optional*): rows that may serve as feedback (e.g. not padding).

    Returns:
        `list[int | None]`: per rollout, the index ``j != i`` of the shortest sibling with
        ``scores[j] < success_threshold``, or ``None``.
    """
    n = len(uids)
    if len(scores) != n or len(lengths) != n or (include is not None and len(include) != n):
        raise ValueError(f"uids has {n} entries; scores, lengths and include need one per rollout")
    success_threshold = check_real("success_threshold", success_threshold)
    failures: dict[Hashable, list[int]] = defaultdict(list)
    for i, uid in enumerate(uids):
        if (include is None or include[i]) and float(scores[i]) < success_threshold:
            failures[uid].append(i)
    out: list[int | None] = []
    for i, uid in enumerate(uids):
        others = [j for j in failures.get(uid, []) if j != i]
        out.append(min(others, key=lambda j: (lengths[j], j)) if others else None)
    return out


def compute_sdpo_advantages(
    teacher_log_probs: torch.Tensor,
    student_log_probs: torch.Tensor,
    response_mask: torch.Tensor,
    has_demonstration: torch.Tensor | Sequence[bool],
    clip: float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    r"""SDPO's distillation term in sampled-token policy-gradient form: ``Â_t = m_i · Δ_t``.

    SDPO trains the student towards its own distribution under a teacher prompt that contains a
    successful sibling rollout (see :func:`select_sdpo_demonstrations`); it uses no verifier
    advantage, and the RLSD paper runs it through the same distillation path as OPSD (§5). Rollouts
    without a demonstration are excluded by a per-sample mask ``m_i`` (SDPO's
    ``self_distillation_mask``). With ``Δ_t`` scored by the demonstration-conditioned teacher,

        ``Â_t = m_i · clamp(Δ_t, −clip, clip)``

    This is SDPO with ``α = 1`` (reverse KL) on the sampled token, i.e. TRL's
    ``distillation_mode="sampled_token"``; the SDPO paper's default is a top-k JSD (``α = 0.5``),
    which needs full teacher logits.

    Args:
        teacher_log_probs (`torch.Tensor` of shape `(batch, response_len)`): ``log P_T`` under the
            demonstration prompt. Rows without a demonstration are ignored (any value, NaN included).
        student_log_probs, response_mask: as in :func:`compute_opsd_advantages`.
        has_demonstration (`torch.Tensor` of shape `(batch,)` or `Sequence[bool]`): ``m_i``; e.g.
            ``[d is not None for d in select_sdpo_demonstrations(...)]``.
        clip (`float` or `None`, *optional*, defaults to `None`): optional symmetric clamp of ``Δ_t``.

    Returns:
        `tuple[torch.Tensor, dict[str, float]]`: ``Â`` (at least float32, 0 outside the mask and on
        rows without a demonstration, detached) and metrics: ``sdpo/demo_sample_frac`` (rows with a
        demonstration, over rows), and over the distilled tokens: ``sdpo/delta_mean``,
        ``sdpo/delta_std``, ``sdpo/adv_abs_mean``, ``sdpo/clip_frac``.
    """
    clip = _check_log_probs(teacher_log_probs, student_log_probs, response_mask, clip)
    batch = response_mask.shape[0]
    demo = torch.as_tensor(has_demonstration, device=response_mask.device).reshape(-1)
    if demo.numel() != batch:
        raise ValueError(
            f"has_demonstration has {demo.numel()} entries but the batch has {batch} rows; give one flag per rollout"
        )
    demo = demo.detach() != 0
    dtype = work_dtype(teacher_log_probs, student_log_probs)
    valid = (response_mask.detach() != 0) & demo[:, None]
    count = int(valid.sum().item())
    delta = masked_log_ratio(teacher_log_probs, student_log_probs, valid, dtype)
    adv = _clamped_delta(delta, clip)
    metrics = {
        "sdpo/demo_sample_frac": row_frac(demo),
        "sdpo/delta_mean": masked_mean(delta, valid, count),
        "sdpo/delta_std": masked_std(delta, valid, count),
        "sdpo/adv_abs_mean": masked_mean(adv.abs(), valid, count),
        "sdpo/clip_frac": 0.0 if clip is None else masked_frac(delta.abs() > clip, valid, count),
    }
    return adv, metrics
