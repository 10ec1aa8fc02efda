"""Free-form answer equivalence: cheap string/number rules here, sympy-based checks in the sandbox.

:func:`cheap_equal` decides most cases in microseconds (normalized string equality, plain numbers and
fractions with units stripped, the benchmark's official string rules). :func:`heavy_tasks` lists the
sympy-based checks (``_heavy``) still worth running; the scorer sends them, for all gold answers of a
call at once, to the grader sandbox with the call's deadline.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from rlsd_verl.rewards import mathvision, mmmu
from rlsd_verl.rewards._heavy import is_decimal, safe_for_sympy

# Number comparison modes: "strict" (relative 1e-6), "round2" (MMMU / MathVision official: equal after
# rounding to 2 decimals), "gold_precision" (MathVista official: the prediction rounded to the number
# of decimals the gold answer shows; an integer gold must be met exactly). In every mode two *exact*
# values (integers and fractions written without a decimal point) must be equal: rounding only
# forgives a decimal approximation ("0.67" for 2/3), never a different exact value ("2/3" for 121/180,
# "1/3" for (3^1008-1)/3^1009, "1.5" is a decimal but 2 is an integer gold of MathVista).
NUMBER_MODES = ("strict", "round2", "gold_precision")

_MAX_NUMBER_CHARS = 64
_UNITS = (
    "square units|sq units|units|unit|degrees|degree|deg|cm\\^?[23]?|mm\\^?[23]?|km\\^?[23]?|m\\^?[23]?|"
    "centimeters?|centimetres?|millimeters?|meters?|metres?|kilometers?|kg|grams?|g|mg|seconds?|secs?|s|"
    "minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?|years?|inches|inch|in|feet|foot|ft|yards?|yd|miles?|mi|"
    "km/h|m/s|mph|liters?|litres?|l|ml|dollars?|cents?|percent|points?|pieces?|people|persons?|students?|times"
)
_UNIT_SUFFIX = re.compile(rf"\s*(?:\\(?:text|mathrm|mbox)\s*\{{\s*(?:{_UNITS})\s*\}}|(?:{_UNITS}))(?:\^?[23²³])?\s*$", re.I)
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")
_SLASH_FRAC = re.compile(r"([+-]?)(\d{1,20})/(\d{1,20})")
_LATEX_FRAC = re.compile(r"([+-]?)\\[dt]?frac\s*\{?\s*(\d{1,20})\s*\}?\s*\{?\s*(\d{1,20})\s*\}?")
_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_MATH_WORDS = re.compile(
    r"sqrt|frac|sin|cos|tan|cot|sec|csc|arc|log|ln|exp|pi|infty|inf|deg|max|min|mod|gcd|lcm|cm|mm|km|units?", re.I
)
_WORD = re.compile(r"[A-Za-z]{3,}")
_TEXT_WRAPPER = re.compile(r"\\(?:text|mathrm|textbf|mbox|operatorname)\s*\{([^{}]*)\}")
_SPACES = re.compile(r"\s+")


def normalize_text(s: str) -> str:
    """Lower-cased answer text without math delimiters, ``\\text{}`` wrappers, spacing macros, degree
    marks and a trailing period (for exact string comparison)."""
    s = s[:2000]
    s = s.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("\\,", "").replace("\\;", "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("$", "").replace("\\%", "%")
    for _ in range(3):
        s2 = _TEXT_WRAPPER.sub(r"\1", s)
        if s2 == s:
            break
        s = s2
    s = _DEGREE.sub("", s)
    s = _SPACES.sub("", s).strip(".").strip()
    return s.lower()


def to_number(s: str) -> float | None:
    """Value of a plain number, ``a/b`` or ``\\frac{a}{b}`` (units, ``$``, degree marks, ``%`` and
    thousands separators stripped); None otherwise."""
    if not isinstance(s, str):
        return None
    t = s.strip()
    if not t or len(t) > _MAX_NUMBER_CHARS:
        return None
    t = t.replace("$", "").replace("\\%", "").replace("%", "").replace("\\!", "").replace("{,}", ",")
    t = t.replace("\\,", "").replace("\\ ", " ").replace("€", "").replace("£", "").replace("¥", "")
    t = _DEGREE.sub("", t).strip()
    if t.startswith("="):
        t = t[1:].strip()
    t = _UNIT_SUFFIX.sub("", t).strip()
    t = _THOUSANDS.sub("", t).replace(" ", "")
    if t.startswith("{") and t.endswith("}"):
        t = t[1:-1]
    try:
        if _PLAIN_NUMBER.fullmatch(t):
            v = float(t)
        elif m := _SLASH_FRAC.fullmatch(t) or _LATEX_FRAC.fullmatch(t):
            num, den = int(m.group(2)), int(m.group(3))
            if den == 0:
                return None
            v = float(Fraction(num, den)) * (-1 if m.group(1) == "-" else 1)
        else:
            return None
    except (ValueError, OverflowError, ZeroDivisionError):
        return None
    return v if math.isfinite(v) else None


def _decimals(s: str) -> int:
    m = re.search(r"\.(\d+)", s)
    return len(m.group(1)) if m else 0


def numbers_equal(pred: float, gold: float, mode: str = "strict", gold_text: str = "", pred_text: str = "") -> bool:
    """Whether two numbers are equal under ``mode`` (see :data:`NUMBER_MODES`); the texts decide
    whether a side is exact (no decimal point): two exact values are compared exactly."""
    exact = math.isclose(pred, gold, rel_tol=1e-9, abs_tol=1e-12)
    if mode == "round2":
        if not is_decimal(gold_text) and not is_decimal(pred_text):
            return exact
        return round(pred, 2) == round(gold, 2) or exact
    if mode == "gold_precision":
        d = _decimals(gold_text)
        if d == 0:
            return exact
        return math.isclose(round(pred, d), gold, rel_tol=1e-9, abs_tol=1e-9)
    return math.isclose(pred, gold, rel_tol=1e-6, abs_tol=1e-9)


def is_mathy(s: str) -> bool:
    """Whether sympy-based checks make sense: no word of 3+ letters outside LaTeX commands and known
    function/unit names (words become products of symbols in sympy: "Tampa" == "Tapam")."""
    t = _TEXT_WRAPPER.sub(lambda m: m.group(1) if _UNIT_SUFFIX.fullmatch(m.group(1).strip()) else "WORD", s)
    t = _LATEX_CMD.sub(" ", t)
    t = _MATH_WORDS.sub(" ", t)
    return _WORD.search(t) is None


def cheap_equal(pred: str, gold: str, benchmark: str, number_mode: str) -> bool | None:
    """True/False when decided without sympy, None when a sympy-based check may still say True."""
    if not pred or not gold:
        return False
    np_, ng = normalize_text(pred), normalize_text(gold)
    if not np_:
        return False
    if np_ == ng:
        return True
    vp, vg = to_number(pred), to_number(gold)
    if vg is not None:
        if vp is not None:
            return numbers_equal(vp, vg, number_mode, gold, pred)
    if benchmark == "MMMU" and mmmu.eval_open([gold], mmmu.parse_open_response(pred)):
        return True
    if benchmark == "MathVision":
        g = mathvision.clean_gold(gold)
        p = mathvision.normalize_pred(pred)
        if mathvision.string_equal(g, p) or mathvision.string_equal(mathvision.normalize_pred(g), p):
            return True
    return None


def heavy_tasks(pred: str, gold: str, benchmark: str, use_math_verify: bool = True) -> list[tuple[str, str, str]]:
    """Sympy-based checks ``(kind, pred, gold)`` for a pair that :func:`cheap_equal` left open."""
    if not (is_mathy(pred) and is_mathy(gold)):
        return []
    tasks: list[tuple[str, str, str]] = []
    if benchmark == "MathVision":
        p, g = mathvision.normalize_pred(pred), mathvision.clean_gold(gold)
        if safe_for_sympy(p) and safe_for_sympy(g):
            tasks.append(("mathvision", p, g))
    if safe_for_sympy(pred) and safe_for_sympy(gold):
        tasks.append(("mathruler", pred, gold))
        if use_math_verify:
            tasks.append(("math_verify", pred, gold))
    return tasks
