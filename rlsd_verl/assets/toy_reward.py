"""A dense toy reward for tests and the CPU demo, usable as verl's ``reward.custom_reward_function``.

**Not a benchmark scorer.** Tiny random models never produce a correct answer, so a 0/1 accuracy
reward is constant, every GRPO/RLSD advantage is zero and nothing in the update path is exercised.
This reward keeps the exact-match accuracy (``acc``) for logging but adds partial credit that varies
even between random strings, so groups of samples get different scores:

    score = 0.6 * acc + 0.25 * overlap + 0.1 * digits + 0.05 * boxed           (in [0, 1])

* ``acc``: 1 if the extracted answer equals ``ground_truth`` after light normalisation (case, spaces,
  a trailing period, ``$``), else 0. The answer is the content of the last ``\\boxed{...}``, else of the
  last ``<answer>...</answer>``, else the last number or word of the response.
* ``overlap``: the fraction of the ground truth's characters (as a multiset) found in the response.
* ``digits``: the fraction of the response's non-space characters that are digits.
* ``boxed``: 1 if the response contains a ``\\boxed{...}``.

Use in a verl config (``pkg://`` makes verl import the installed module, no file path needed)::

    reward.custom_reward_function.path=pkg://rlsd_verl.assets.toy_reward
    reward.custom_reward_function.name=compute_score
"""

from __future__ import annotations

import re
from collections import Counter

_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_LAST_TOKEN = re.compile(r"-?\d+(?:\.\d+)?|[A-Za-z]+")

W_ACC, W_OVERLAP, W_DIGITS, W_BOXED = 0.6, 0.25, 0.1, 0.05


def extract_answer(solution_str: str) -> str | None:
    """The model's final answer: last ``\\boxed{}``, else last ``<answer>``, else last number/word."""
    boxed = _BOXED.findall(solution_str)
    if boxed:
        return boxed[-1]
    tagged = _ANSWER_TAG.findall(solution_str)
    if tagged:
        return tagged[-1]
    tokens = _LAST_TOKEN.findall(solution_str)
    return tokens[-1] if tokens else None


def normalize_answer(text: str) -> str:
    """Lower-case and drop whitespace, ``$`` and a trailing period (so ``" 7. "`` equals ``"7"``)."""
    text = re.sub(r"\s+", "", str(text)).replace("$", "").lower()
    return text[:-1] if text.endswith(".") else text


def _char_overlap(response: str, ground_truth: str) -> float:
    want = Counter(ground_truth)
    if not want:
        return 0.0
    have = Counter(response)
    return sum(min(n, have[c]) for c, n in want.items()) / sum(want.values())


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> dict:
    """Score one response; returns ``{"score": float, "acc": float}`` (see the module docstring).

    ``ground_truth`` may be a string, a number or a list/tuple of acceptable answers (any one counts
    for ``acc``; the first is used for the overlap term). ``data_source``, ``extra_info`` and extra
    keyword arguments are accepted for verl's calling convention and ignored.
    """
    if not isinstance(solution_str, str):
        raise TypeError(f"solution_str must be a str, got {type(solution_str).__name__}")
    if isinstance(ground_truth, (list, tuple)):
        golds = [str(g) for g in ground_truth]
    elif isinstance(ground_truth, (str, int, float)) and not isinstance(ground_truth, bool):
        golds = [str(ground_truth)]
    else:
        raise TypeError(f"ground_truth must be a str, a number or a list of them, got {type(ground_truth).__name__}")
    if not golds or not any(g.strip() for g in golds):
        raise ValueError(f"ground_truth must be non-empty, got {ground_truth!r}")

    extracted = extract_answer(solution_str)
    acc = float(extracted is not None and normalize_answer(extracted) in {normalize_answer(g) for g in golds})
    overlap = _char_overlap(solution_str, golds[0].strip())
    visible = [c for c in solution_str if not c.isspace()]
    digits = sum(c.isdigit() for c in visible) / len(visible) if visible else 0.0
    boxed = float(bool(_BOXED.search(solution_str)))
    score = W_ACC * acc + W_OVERLAP * overlap + W_DIGITS * digits + W_BOXED * boxed
    return {"score": float(score), "acc": acc}
