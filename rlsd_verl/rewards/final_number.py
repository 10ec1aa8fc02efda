"""A 0/1 verifier for short numeric answers ("3 + 4 = 7", "The answer is 7."), and where its answer sits.

Used by the SmolLM2 addition task (:mod:`rlsd_verl.assets.addition`) as verl's custom reward::

    reward.custom_reward_function.path=pkg://rlsd_verl.rewards.final_number
    reward.custom_reward_function.name=compute_score

The answer is, in this order: the content of the last ``\\boxed{...}``; else the number right after the
last ``=``; else the last number in the response. :func:`answer_char_span` returns its character span,
so the token-credit records (:mod:`rlsd_verl.trainer.token_dump`) can mark exactly the tokens the
verifier read. A response is correct when that number equals the ground truth as an integer or float
(``"7"``, ``"7.0"`` and ``"+7"`` all equal ``7``).
"""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_AFTER_EQUALS = re.compile(r"=\s*(-?\d+(?:\.\d+)?)")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def answer_char_span(text: str) -> tuple[int, int] | None:
    """``(start, end)`` of the final answer in ``text`` (see the module docstring), or None."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    boxed = list(_BOXED.finditer(text))
    if boxed:
        return boxed[-1].span(1)
    equals = list(_AFTER_EQUALS.finditer(text))
    if equals:
        return equals[-1].span(1)
    numbers = list(_NUMBER.finditer(text))
    return numbers[-1].span() if numbers else None


def extract_answer(text: str) -> str | None:
    """The final answer's text (see :func:`answer_char_span`), or None when the response has no number."""
    span = answer_char_span(text)
    return None if span is None else text[span[0] : span[1]].strip()


def _as_number(value) -> float | None:
    try:
        return float(str(value).strip().replace(",", ""))
    except ValueError:
        return None


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> dict:
    """``{"score": acc, "acc": acc}``, 1.0 when the final number equals ``ground_truth``, else 0.0.

    ``ground_truth`` is a number or a numeric string (a list/tuple: any of them counts). ``data_source``,
    ``extra_info`` and extra keyword arguments follow verl's calling convention and are ignored.
    """
    if not isinstance(solution_str, str):
        raise TypeError(f"solution_str must be a str, got {type(solution_str).__name__}")
    golds = ground_truth if isinstance(ground_truth, (list, tuple)) else [ground_truth]
    gold_values = [_as_number(g) for g in golds]
    if not golds or any(v is None for v in gold_values):
        raise ValueError(f"ground_truth must be a number or a numeric string (or a list of them), got {ground_truth!r}")
    answer = extract_answer(solution_str)
    value = None if answer is None else _as_number(answer)
    acc = float(value is not None and any(abs(value - g) < 1e-9 for g in gold_values))
    return {"score": acc, "acc": acc}
