r"""The teacher-signal table of ``python -m rlsd_verl.probe``, from token-credit records (pure; stdlib only).

Input: the records of :mod:`rlsd_verl.trainer.token_dump` (one per response: ``correct``, ``advantage``,
``answer_tokens``, per-token ``delta`` = Δ_t = log P_T − log P_S and ``weight`` = w_t = exp(sign(A)·Δ_t)).
Records without a teacher pass (``delta`` null) are skipped. Per template:

* mean Δ_t over the tokens of correct / wrong responses, and over answer-span tokens / the other tokens;
* mean Δ_t on the answer span of correct and of wrong responses, and their gap;
* ``wrong_way_frac``: share of responses whose teacher evidence points against the verifier: the mean Δ_t
  over the response's answer tokens (all its tokens when no answer span was found) is < 0 for a correct
  response or > 0 for a wrong one. For a wrong response (A < 0) Δ > 0 gives w < 1: the wrong answer is
  blamed *less*;
* clip fractions of w_t (``w < 1 − ε``, ``w > 1 + ε``) over all tokens and per sign of A;
* a verdict: ``right way`` when the answer span of correct responses gains more than that of wrong ones
  (gap > 0) and fewer than half of the responses point the wrong way; ``wrong way`` otherwise;
  ``undecided`` without both correct and wrong responses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["teacher_signal", "verdict", "format_table"]


def _mean(xs: list[float]) -> float:
    return math.fsum(xs) / len(xs) if xs else math.nan


def teacher_signal(records: Iterable[dict], clip_eps: float = 0.2) -> dict:
    """The per-template statistics (module docstring) of ``records``; NaN where a group is empty."""
    if not 0.0 <= clip_eps < 1.0:
        raise ValueError(f"clip_eps={clip_eps} must be in [0, 1) (algorithm.rlsd.clip_eps)")
    tok = {k: [] for k in ("correct", "wrong", "answer", "rest", "answer_correct", "answer_wrong")}
    clip = {k: [0, 0] for k in ("all", "pos", "neg")}  # [clipped, tokens]
    low = high = 0
    n_correct = n_wrong = wrong_way = 0
    for rec in records:
        delta = rec.get("delta")
        if delta is None:
            continue
        ok = bool(rec["correct"])
        n_correct += ok
        n_wrong += not ok
        answer = set(rec.get("answer_tokens") or [])
        tok["correct" if ok else "wrong"].extend(delta)
        ans = [d for t, d in enumerate(delta) if t in answer]
        tok["answer"].extend(ans)
        tok["rest"].extend(d for t, d in enumerate(delta) if t not in answer)
        tok["answer_correct" if ok else "answer_wrong"].extend(ans)
        signal = _mean(ans if ans else list(delta))
        if not math.isnan(signal) and ((ok and signal < 0) or (not ok and signal > 0)):
            wrong_way += 1
        adv = float(rec.get("advantage") or 0.0)
        weight = rec.get("weight") or [1.0] * len(delta)
        for w in weight:
            lo, hi = w < 1.0 - clip_eps, w > 1.0 + clip_eps
            low += lo
            high += hi
            for side in ("all",) + (("pos",) if adv > 0 else ("neg",) if adv < 0 else ()):
                clip[side][0] += lo or hi
                clip[side][1] += 1
    n = n_correct + n_wrong
    frac = lambda c: c[0] / c[1] if c[1] else math.nan  # noqa: E731
    out = {
        "responses": n,
        "correct": n_correct,
        "wrong": n_wrong,
        "answer_tokens": len(tok["answer"]),
        "delta_correct": _mean(tok["correct"]),
        "delta_wrong": _mean(tok["wrong"]),
        "delta_answer": _mean(tok["answer"]),
        "delta_rest": _mean(tok["rest"]),
        "delta_answer_correct": _mean(tok["answer_correct"]),
        "delta_answer_wrong": _mean(tok["answer_wrong"]),
        "wrong_way_frac": wrong_way / n if n else math.nan,
        "clip_low_frac": low / clip["all"][1] if clip["all"][1] else math.nan,
        "clip_high_frac": high / clip["all"][1] if clip["all"][1] else math.nan,
        "clip_frac_pos_adv": frac(clip["pos"]),
        "clip_frac_neg_adv": frac(clip["neg"]),
    }
    out["answer_gap"] = out["delta_answer_correct"] - out["delta_answer_wrong"]
    out["verdict"] = verdict(out)
    return out


def verdict(s: dict) -> str:
    """One line: does the teacher's evidence point the way the verifier does (module docstring)?"""
    if not s["correct"] or not s["wrong"]:
        return (f"undecided: {s['correct']} correct and {s['wrong']} wrong responses; the check needs both "
                "(more prompts, more rollouts, or a task nearer the model's level)")
    gap, ww = s["answer_gap"], s["wrong_way_frac"]
    if math.isnan(gap):
        return "undecided: no answer span was found in the responses (the reward's answer format?)"
    if gap > 0 and ww < 0.5:
        return (f"right way: the hint raises correct answers {gap:+.3f} nats more than wrong ones; "
                f"{ww:.0%} of responses point the wrong way")
    return (f"WRONG WAY: answer-span gap correct − wrong {gap:+.3f} nats, {ww:.0%} of responses point the wrong way; "
            "RLSD would shift credit against the verifier; try another teacher template")


_COLUMNS = (
    ("resp", "responses", "d"), ("ok", "correct", "d"), ("Δ ok", "delta_correct", "f"), ("Δ wrong", "delta_wrong", "f"),
    ("Δ ans", "delta_answer", "f"), ("Δ rest", "delta_rest", "f"), ("Δ ans ok", "delta_answer_correct", "f"),
    ("Δ ans wrong", "delta_answer_wrong", "f"), ("wrong-way", "wrong_way_frac", "%"),
    ("clip A>0", "clip_frac_pos_adv", "%"), ("clip A<0", "clip_frac_neg_adv", "%"),
)


def format_table(by_template: dict[str, dict]) -> str:
    """The printed table: one row per template, then one verdict line per template."""
    width = max([8] + [len(n) for n in by_template])
    head = "template".ljust(width) + "".join(f"{c:>12s}" for c, _, _ in _COLUMNS)
    lines = [head]
    for name, s in by_template.items():
        cells = []
        for _, key, kind in _COLUMNS:
            v = s[key]
            if isinstance(v, float) and math.isnan(v):
                cells.append(f"{'-':>12s}")
            elif kind == "d":
                cells.append(f"{int(v):>12d}")
            elif kind == "%":
                cells.append(f"{v:>11.1%} ")
            else:
                cells.append(f"{v:>+12.3f}")
        lines.append(name.ljust(width) + "".join(cells))
    lines.append("")
    lines += [f"{name}: {s['verdict']}" for name, s in by_template.items()]
    return "\n".join(lines)
