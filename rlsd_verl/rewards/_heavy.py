"""Sympy-based equivalence checks: the only code that can take unbounded time on model text.

They run inside the grader sandbox (``_sandbox``: a separate process with a deadline) and are never
called with Python ``eval`` on model text by this package:

* ``mathruler``: ``mathruler.grader.grade_answer(pred, gold)`` (the verifier of verl's geo3k and of
  RLSD). Its sympy fallback goes through ``sympy.parse_expr`` only after mathruler's own guard (at most
  two distinct letters, no ``^{``), and :func:`safe_for_sympy` below rejects inputs with ``__``, quotes
  or ``**`` before that;
* ``math_verify``: ``math_verify.parse`` with LaTeX extraction only (an ANTLR parser, no ``parse_expr``)
  on ``\\boxed{...}``-wrapped strings, then ``math_verify.verify``; the library's signal-based timeouts
  are disabled (``parsing_timeout=None`` / ``timeout_seconds=None``) because they raise off the main
  thread; the sandbox enforces the deadline instead;
* ``mathvision``: MathVision's ``is_equal`` numeric rule (value rounded to 2 decimals, elementwise for
  tuples) with ``latex2sympy2_extended`` + ``sympy.N`` instead of the official ``eval``; rounding
  applies only when one side is written as a decimal: two exact expressions must have equal values
  (``\\frac{1}{3}`` is not ``\\frac{3^{1008}-1}{3^{1009}}``, whose value differs by 3^-1009).

Each check returns a bool and swallows every exception (a failure to parse is "not equal").
"""

from __future__ import annotations

import logging
import re

MAX_SYMPY_CHARS = 256
MAX_SYMPY_LINES = 8
_UNSAFE = ("__", "'", '"', "`", ";", "**", "lambda", "import", "exec", "eval", "\\def", "\\newcommand")
_TUPLE = re.compile(r"^[\(\[](.*)[\)\]]$", re.S)

KINDS = ("mathruler", "math_verify", "mathvision")


def safe_for_sympy(s: str) -> bool:
    """Length/line caps and a deny-list for strings handed to sympy-based graders."""
    if not isinstance(s, str) or not s.strip() or len(s) > MAX_SYMPY_CHARS or s.count("\n") > MAX_SYMPY_LINES:
        return False
    low = s.lower()
    return not any(tok in low for tok in _UNSAFE)


def _mathruler(pred: str, gold: str) -> bool:
    from mathruler.grader import grade_answer

    return bool(grade_answer(pred, gold))


def _mv_parse(s: str):
    from math_verify import LatexExtractionConfig, parse

    return parse("\\boxed{" + s + "}", extraction_config=[LatexExtractionConfig()], parsing_timeout=None)


def _math_verify(pred: str, gold: str) -> bool:
    from math_verify import verify

    g = _mv_parse(gold)
    p = _mv_parse(pred)
    if not g or not p:
        return False
    return bool(verify(g, p, timeout_seconds=None))


def numeric_value(latex: str):
    """Float value of a LaTeX/plain expression via latex2sympy2_extended + sympy.N; None if not numeric."""
    import sympy
    from latex2sympy2_extended import latex2sympy

    expr = latex2sympy(latex)
    val = sympy.N(expr)
    if not getattr(val, "is_number", False):
        return None
    c = complex(val)
    if abs(c.imag) > 1e-12:
        return None
    return c.real


_DECIMAL_POINT = re.compile(r"\d\.\d|(?<![\d.])\.\d")


def is_decimal(s: str) -> bool:
    """Whether a number is written with a decimal point (an approximation such as ``0.67``)."""
    return bool(_DECIMAL_POINT.search(s or ""))


def exact_value(latex: str):
    """The exact sympy value of an expression (None if it has free symbols or does not parse)."""
    from latex2sympy2_extended import latex2sympy

    expr = latex2sympy(latex)
    return None if getattr(expr, "free_symbols", True) else expr


def _close(a: str, b: str, va: float, vb: float) -> bool:
    """MathVision's 2-decimal rule when a side is a decimal; otherwise the exact values must agree."""
    if is_decimal(a) or is_decimal(b):
        return round(va, 2) == round(vb, 2)
    import sympy

    ea, eb = exact_value(a), exact_value(b)
    if ea is None or eb is None:
        return round(va, 2) == round(vb, 2)
    diff = sympy.simplify(ea - eb)
    return bool(diff == 0)


def _mathvision(pred: str, gold: str) -> bool:
    p, g = pred.lower().strip(), gold.lower().strip()
    if not p or not g:
        return False
    mp, mg = _TUPLE.match(p), _TUPLE.match(g)
    if mp and mg and "," in mg.group(1):
        pe, ge = mp.group(1).split(","), mg.group(1).split(",")
        if len(pe) != len(ge) or p[0] != g[0]:
            return False
        for a, b in zip(pe, ge):
            a, b = a.strip(), b.strip()
            if a == b:
                continue
            va, vb = numeric_value(a), numeric_value(b)
            if va is None or vb is None or not _close(a, b, va, vb):
                return False
        return True
    vp, vg = numeric_value(p), numeric_value(g)
    return vp is not None and vg is not None and _close(p, g, vp, vg)


_FUNCS = {"mathruler": _mathruler, "math_verify": _math_verify, "mathvision": _mathvision}


def run_check(kind: str, pred: str, gold: str) -> bool:
    """One check; False for unknown kinds, unsafe inputs and any exception."""
    fn = _FUNCS.get(kind)
    if fn is None or not safe_for_sympy(pred) or not safe_for_sympy(gold):
        return False
    try:
        return fn(pred, gold)
    except Exception:  # noqa: BLE001 - a grader failure (RecursionError, MemoryError, ...) means "not equal"
        return False


def run_checks(tasks) -> int:
    """Index of the first task ``(kind, pred, gold)`` that returns True, or -1."""
    for i, task in enumerate(tasks):
        try:
            kind, pred, gold = task
        except (TypeError, ValueError):
            continue
        if run_check(str(kind), str(pred), str(gold)):
            return i
    return -1


def warm_up() -> None:
    """Import the graders and build the ANTLR parser once (a worker does this before it reports ready)."""
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.ERROR)
    run_checks([("mathruler", "1/2", "0.5"), ("math_verify", "\\frac{1}{2}", "0.5"), ("mathvision", "\\sqrt{4}", "2")])
