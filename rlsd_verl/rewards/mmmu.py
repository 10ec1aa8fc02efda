"""MMMU's official open-answer rules, re-implemented (paraphrase of ``mmmu/utils/eval_utils.py``).

``parse_open_response`` turns a response into candidate predictions (key sub-responses after
indicator words plus every number found, numbers rounded to 2 decimals, strings lower-cased) and
``eval_open`` marks it correct when a numeric candidate equals a numeric gold or a string gold is a
substring of a string candidate. Here both run on the *extracted final answer* only (the official
scorer runs them on whole responses, where listing many numbers can hit by accident), and inputs are
capped so the regexes stay cheap. Nothing here raises on model text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

MAX_CHARS = 2000

_SPLIT = re.compile(r"\.\s(?=[A-Z])|\n")
_INDICATORS = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")
_NUM_COMMAS = re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b")
_NUM_SCI = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")
_NUM_SIMPLE = re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])")
_TRIVIAL = {":", ",", ".", "!", "?", ";", "'"}


def _as_number(s: str) -> float | None:
    try:
        v = float(s.replace(",", ""))
    except (ValueError, OverflowError):
        return None
    if math.isnan(v):
        return None
    return v


def normalize_str(s: str) -> list:
    """A number -> ``[round(float, 2)]``; a string -> ``[lower]`` (one character: ``[" c", "c "]``)."""
    s = s.strip()
    v = _as_number(s)
    if v is not None:
        return [round(v, 2)] if math.isfinite(v) else [v]
    s = s.lower()
    if len(s) == 1:
        return [" " + s, s + " "]
    return [s]


def extract_numbers(s: str) -> list[str]:
    return _NUM_COMMAS.findall(s) + _NUM_SCI.findall(s) + _NUM_SIMPLE.findall(s)


def _key_subresponses(response: str) -> list[str]:
    response = response.strip().strip(".").lower()
    subs = _SPLIT.split(response)
    keys = []
    for idx, resp in enumerate(subs):
        indicators = _INDICATORS + (("=",) if idx == len(subs) - 1 else ())
        shortest = None
        for ind in indicators:
            if ind in resp:
                tail = resp.split(ind)[-1].strip()
                if shortest is None or len(tail) < len(shortest):
                    shortest = tail
        if shortest and shortest.strip() not in _TRIVIAL:
            keys.append(shortest)
    return keys or [response]


def parse_open_response(response: str) -> list:
    """Candidate predictions (floats and lower-cased strings) for an open MMMU answer."""
    if not isinstance(response, str) or not response.strip():
        return []
    response = response[:MAX_CHARS]
    keys = _key_subresponses(response)
    cands: list[str] = list(keys)
    for k in keys:
        cands.extend(extract_numbers(k))
    out: list = []
    seen = set()
    for c in cands:
        for v in normalize_str(c):
            key = (type(v).__name__, v)
            if key not in seen:
                seen.add(key)
                out.append(v)
    return out


def eval_open(golds: Sequence[str], preds: Sequence) -> bool:
    """MMMU ``eval_open``: a float candidate equals a float gold, or a string gold occurs in a string
    candidate."""
    norm_golds: list = []
    for g in golds:
        if isinstance(g, str) and g.strip():
            norm_golds.extend(normalize_str(g))
    for p in preds:
        if isinstance(p, str):
            if any(isinstance(g, str) and g in p for g in norm_golds):
                return True
        elif any(isinstance(g, float) and g == p for g in norm_golds):
            return True
    return False
