"""MathVision (MATH-V) answer rules, re-implemented (paraphrase of ``evaluation/{evaluate,utils}.py``).

The string clean-up (``find_math_answer`` / ``_strip_string``) is pure string work and runs in the
calling process. The official ``is_equal`` then compares ``round(eval(str(latex2sympy(x))), 2)``;
this port never calls ``eval``: :func:`numeric_value` (run in the grader sandbox, see ``_heavy``)
parses with ``latex2sympy2_extended`` (an ANTLR parser) and evaluates the sympy object numerically.
"""

from __future__ import annotations

import re

_OXED = "oxed{"
_MC_LETTER_SUFFIXES = ("(a)", "(b)", "(c)", "(d)", "(e)", "{a}", "{b}", "{c}", "{d}", "{e}")


def clean_gold(gold: str) -> str:
    """Dataset quirks: ``\\x0c`` (a lost ``\\f``) -> ``\\f``; surrounding ``$``; ``\\boxed{}``;
    ``{degrees}`` / ``^\\circ`` markers."""
    g = gold.replace("\x0c", "\\f").strip()
    if len(g) >= 2 and g.startswith("$") and g.endswith("$"):
        g = g.strip("$").strip()
    if g.startswith("\\boxed{") and g.endswith("}"):
        g = g[len("\\boxed{") : -1].strip()
    for unit in ("{degrees}", "^{\\circ}", "^\\circ", "°"):
        g = g.replace(unit, "")
    return g.strip()


def _fix_fracs(s: str) -> str:
    parts = s.split("\\frac")
    out = parts[0]
    for sub in parts[1:]:
        out += "\\frac"
        if sub[:1] == "{":
            out += sub
            continue
        if len(sub) < 2:
            return s
        a, b, rest = sub[0], sub[1], sub[2:]
        out += "{" + a + "}{" + b + "}" + rest if b != "{" else "{" + a + "}" + b + rest
    return out


def _fix_a_slash_b(s: str) -> str:
    parts = s.split("/")
    if len(parts) != 2:
        return s
    a, b = parts
    if re.fullmatch(r"-?\d{1,30}", a) and re.fullmatch(r"\d{1,30}", b) and s == f"{int(a)}/{int(b)}":
        return "\\frac{" + a + "}{" + b + "}"
    return s


def _fix_sqrt(s: str) -> str:
    if "\\sqrt" not in s:
        return s
    parts = s.split("\\sqrt")
    out = parts[0]
    for sub in parts[1:]:
        if sub and sub[0] != "{":
            out += "\\sqrt{" + sub[0] + "}" + sub[1:]
        else:
            out += "\\sqrt" + sub
    return out


def strip_string(s: str) -> str:
    """MATH-style normalisation used by MathVision (``_strip_string``)."""
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "").replace("$", "")
    s = s.split("\\text{ ")[0]
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    if len(s.split("=")) == 2:
        s = s.split("=")[-1]
    if len(s.split("\\approx")) == 2:
        s = s.split("\\approx")[-1]
    if "sqrt" in s:
        s = _fix_sqrt(s)
    s = s.replace(" ", "")
    if "sqrt" in s:
        s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_a_slash_b(s)


def find_math_answer(s: str) -> str:
    """MathVision's answer clean-up of an (already extracted) answer string; lower-cased."""
    s = s.lower().replace("{}", "")
    if _OXED in s:
        # official: greedy 'oxed{(.*)}' -> from the last "oxed{" to the last "}"
        start = s.rfind(_OXED) + len(_OXED)
        end = s.rfind("}")
        s = s[start:end] if end >= start else s[start:]
    close, open_ = s.find("}"), s.find("{")
    if close != -1 and (open_ == -1 or close < open_):
        s = s.split("}")[0]
    s = s.split("=")[-1].split("\\approx")[-1]
    s = s.replace(" ", "").replace("\\,", "").replace("∞", "\\infty").replace("+\\infty", "\\infty")
    s = s.replace("\\\\", "\\").replace("\n", "").replace("\\text", "").replace("\\mbox", "")
    s = s.replace("bmatrix", "pmatrix").replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "").replace("{m}^3", "").replace("m^3", "")
    s = s.replace("{units}", "").replace("units", "").replace("{km}", "").replace("km", "")
    return strip_string(s)


def normalize_pred(s: str) -> str:
    """``find_math_answer`` plus the official ``(a)->a`` / ``{a}->a`` and ``.``/``:`` trimming."""
    out = find_math_answer(s)
    for token in _MC_LETTER_SUFFIXES:
        out = out.replace(token, token[1])
    return out.rstrip(".").lstrip(":").strip()


def string_equal(gold: str, pred: str) -> bool:
    """The cheap part of the official ``is_equal`` (lower-case exact match, ignoring empty strings)."""
    g, p = gold.lower(), pred.lower()
    if not g.replace(" ", "") or not p.replace(" ", ""):
        return False
    return g.strip() == p.strip()
