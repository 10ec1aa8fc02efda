"""``compute_score``: verifiable rewards for RLSD training and benchmark evaluation (verl custom reward).

Use with verl 0.9.x::

    reward.custom_reward_function.path=pkg://rlsd_verl.rewards
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.format_weight=0.0      # evaluation (default 0.1)

verl merges ``reward.custom_reward_function.reward_kwargs`` into every call (they take precedence over
the call's own keyword arguments; see ``verl.trainer.ppo.reward.get_custom_reward_fn``).

Returned dict (the same keys for every call, so verl can stack them per batch):

``score``        ``(1 - format_weight) * acc + format_weight * format`` (the reward)
``acc``          1.0 if the final answer is correct, else 0.0 (correctness only; verl's validation
                 reports it as ``val-core/<data_source>/acc/mean@N``)
``format``       1.0 if the response follows the prompt's output format (see ``format_style``)
``timeout``      1.0 if the sympy-based checks ran out of time (the answer then counts as wrong)
``pred``         the extracted answer (an option letter for multiple choice; ``""`` when none), at most
                 200 characters. A string is safe in verl: ``process_validation_metrics`` skips string
                 variables when averaging and uses ``pred`` for majority voting (``maj@N``)
``benchmark``    canonical benchmark of the row (``MMMU``, ``MMMU-Pro``, ``MathVista``, ``MathVision``,
                 ``WeMath``, ``ZeroBench``, ``ZeroBench-sub``, ``geometry3k``, ``generic``)
``data_source``  the row's ``data_source``
``subject``      ``extra_info.subject`` (``""`` if absent), for per-subject breakdowns
``sample_id``    ``extra_info.id`` (else ``extra_info.index``), to join validation dumps with data

Keyword arguments (all optional; settable through ``reward_kwargs``):

``format_weight`` (float in [0, 1], default :data:`DEFAULT_FORMAT_WEIGHT` = 0.1, the RLSD/geo3k
    training reward ``0.9 * acc + 0.1 * format``; use 0.0 for evaluation so that ``score == acc``).
``format_style`` (``any`` | ``think_boxed`` | ``thought_answer``, default ``any``): ``think_boxed`` is
    geo3k's ``<think>..</think>..\\boxed{..}``, ``thought_answer`` is RLSD's
    ``<thought>..</thought>..<answer>..</answer>``, ``any`` accepts both (and either reasoning tag).
``timeout_s`` (float > 0, default :data:`DEFAULT_TIMEOUT_S` = 2.0): budget for the sympy-based checks
    of one call (enforced in a separate grader process, see ``_sandbox``); on expiry the answer is wrong
    and ``timeout`` is 1.0.
``mc_fallback`` (bool, default True): for multiple choice without an extractable final answer, read
    strong letter signals ("answer is B", a last line "B", the last "(B)") in the response tail. Never a
    random guess.
``use_math_verify`` (bool, default True): also try math-verify after mathruler for free-form answers.

Unknown keyword arguments (verl passes e.g. ``reward_router_address``) are ignored. Bad values of the
options above raise ``ValueError`` (configuration errors); nothing raises on model text: any internal
failure is logged and scored as a wrong answer.
"""

from __future__ import annotations

import ast
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from rlsd_verl.rewards import choice, equivalence, extract, mathvision
from rlsd_verl.rewards._sandbox import get_pool

logger = logging.getLogger(__name__)

DEFAULT_FORMAT_WEIGHT = 0.1
DEFAULT_TIMEOUT_S = 2.0
MAX_PRED_CHARS = 200
RESULT_KEYS = ("score", "acc", "format", "timeout", "pred", "benchmark", "data_source", "subject", "sample_id")

# data_source -> benchmark (exact ids first, then case-insensitive substrings, in order)
DATA_SOURCES = {
    "MMMU/MMMU": "MMMU",
    "lmms-lab/MMMU": "MMMU",
    "AI4Math/MathVista": "MathVista",
    "MathLLMs/MathVision": "MathVision",
    "We-Math/We-Math": "WeMath",
    "jonathan-roberts1/zerobench": "ZeroBench",
    "hiyouga/geometry3k": "geometry3k",
}
_SUBSTRINGS = (
    ("mmmu_pro", "MMMU-Pro"),
    ("mmmu-pro", "MMMU-Pro"),
    ("mmmu", "MMMU"),
    ("mathvista", "MathVista"),
    ("mathvision", "MathVision"),
    ("math-v", "MathVision"),
    ("wemath", "WeMath"),
    ("we-math", "WeMath"),
    ("zerobench_sub", "ZeroBench-sub"),
    ("zerobench", "ZeroBench"),
    ("geometry3k", "geometry3k"),
    ("geo3k", "geometry3k"),
)
_NUMBER_MODE = {"MMMU": "round2", "MMMU-Pro": "round2", "MathVision": "round2", "MathVista": "gold_precision"}
_MC_TYPES = {"multiple_choice", "multiple-choice", "multi_choice", "multichoice", "mc", "choice", "mcq"}
_FF_TYPES = {"free_form", "free-form", "freeform", "open", "short-answer", "short_answer", "numerical", "math"}


def benchmark_of(data_source: Any) -> str:
    """Canonical benchmark name for a ``data_source`` (``generic`` when unknown)."""
    ds = str(data_source or "")
    if ds in DATA_SOURCES:
        return DATA_SOURCES[ds]
    low = ds.lower()
    for sub, name in _SUBSTRINGS:
        if sub in low:
            return name
    return "generic"


# ----------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------


def _as_str_list(value: Any) -> list[str]:
    if value is None or isinstance(value, (str, bytes, Mapping)):
        return []
    try:
        items = list(value)  # list, tuple, numpy array, pyarrow list
    except TypeError:
        return []
    return [str(x) for x in items if x is not None and str(x).strip()]


# Control characters left by lost LaTeX escapes in dataset golds (MathVision id 2830: "\x0crac{36}{13}").
_LOST_ESCAPES = str.maketrans({"\x0c": "\\f", "\x07": "\\a", "\x08": "\\b", "\x0b": "\\v"})


def _gold_list(ground_truth: Any, extra: Mapping) -> list[str]:
    golds = [g.translate(_LOST_ESCAPES) for g in _as_str_list(extra.get("gold_answers"))]
    if isinstance(ground_truth, str):
        ground_truth = ground_truth.translate(_LOST_ESCAPES)
    if isinstance(ground_truth, str):
        gt = ground_truth.strip()
        if gt.startswith("[") and gt.endswith("]") and len(gt) < 10_000 and not golds:
            try:
                parsed = ast.literal_eval(gt)  # dataset text, not model text
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                parsed = None
            # only a list of quoted strings is a list of golds ("[2, 3]" is an answer in itself)
            is_gold_list = isinstance(parsed, (list, tuple)) and parsed and all(isinstance(x, str) for x in parsed)
            listed = _as_str_list(parsed) if is_gold_list else []
            golds.extend(g for g in listed if g not in golds)
            if listed:
                return golds
        if gt and gt not in golds:
            golds.insert(0, gt)
    else:
        for g in _as_str_list(ground_truth) or ([str(ground_truth)] if ground_truth is not None else []):
            if g.strip() and g not in golds:
                golds.append(g)
    return [g.strip() for g in golds if g.strip()]


def _question_type(extra: Mapping, options: list[str], golds: list[str]) -> str:
    qt = str(extra.get("question_type") or "").strip().lower()
    if qt in _MC_TYPES:
        return "multiple_choice"
    if qt in _FF_TYPES:
        return "free_form"
    if options and any(choice.gold_letter(g, options) for g in golds):
        return "multiple_choice"
    return "free_form"


def _is_letter_gold(g: str) -> bool:
    s = g.strip().strip("()").strip()
    return len(s) == 1 and s in "ABCDEFGHIJ"


# ----------------------------------------------------------------------------------------------
# heavy-check cache (results of sympy checks are pure functions of their inputs)
# ----------------------------------------------------------------------------------------------

# key -> (index of the first check that held or -1, timed out); timeouts are cached too, so that a
# repeated pathological answer costs its time budget once per process and scores the same every time.
_CACHE: OrderedDict[tuple, tuple[int, bool]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8192
_PRESTARTED = False


def _run_heavy(tasks: list[tuple[str, str, str]], timeout_s: float) -> tuple[bool, bool]:
    if not tasks:
        return False, False
    key = (timeout_s, tuple(tasks))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            idx, timed_out = _CACHE[key]
            return idx >= 0, timed_out
    idx, timed_out = get_pool().run(tasks, timeout_s)
    with _CACHE_LOCK:
        _CACHE[key] = (idx, bool(timed_out))
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return idx >= 0, bool(timed_out)


# ----------------------------------------------------------------------------------------------
# scorers
# ----------------------------------------------------------------------------------------------


def _no_single_choice(response: str, span: str | None, method: str, letters) -> bool:
    """The answer names several letters, or is / is followed by an enumeration of the options (an
    echoed prompt): no single choice, and no fallback may pick one."""
    if span is not None and (choice.names_several_letters(span, letters) or choice.has_enumeration(span)):
        return True
    return method == "answer_line" and choice.has_enumeration(extract.after_answer_line(response))


def _score_multiple_choice(response, span, method, golds, options, benchmark, opts) -> tuple[bool, str, bool]:
    letter_golds = [choice.gold_letter(g, options) for g in golds]
    gold_letters = {g for g in letter_golds if g}
    extra_letter = max(gold_letters) if gold_letters else None
    letters = choice.allowed_letters(options, extra_letter)
    if _no_single_choice(response, span, method, letters):
        return False, span or "", False
    pred = choice.parse_choice(span, options, letters) if span is not None else None
    if pred is None and opts["mc_fallback"]:
        pred = choice.parse_choice_in_response(response, options, letters)
    if pred is not None:
        return pred in gold_letters, pred, False
    # No letter named: the answer may state the gold option's content (MathVision's is_equal(gt_value)).
    # Equivalence only (no MMMU substring rule: "Tampa or Miami" must not match the option "Tampa").
    if span and options:
        values = [str(options[ord(g) - 65]) for g in gold_letters if ord(g) - 65 < len(options)]
        values = [v for v in values if v.strip() and v.strip().upper() not in choice.LETTERS]
        rules = benchmark if benchmark == "MathVision" else "generic"
        ok, timed_out = _free_form_match(span, values, rules, opts)
        return ok, span, timed_out
    return False, span or "", False


def _free_form_match(pred: str, golds: Sequence[str], benchmark: str, opts) -> tuple[bool, bool]:
    mode = _NUMBER_MODE.get(benchmark, "strict")
    tasks: list[tuple[str, str, str]] = []
    for g in golds:
        if benchmark == "MathVision":
            g = mathvision.clean_gold(g)
        decided = equivalence.cheap_equal(pred, g, benchmark, mode)
        if decided is True:
            return True, False
        if decided is None:
            tasks.extend(equivalence.heavy_tasks(pred, g, benchmark, opts["use_math_verify"]))
    return _run_heavy(tasks, opts["timeout_s"])


def _score_free_form(response, span, method, golds, benchmark, opts) -> tuple[bool, str, bool]:
    letter_golds = [g.strip().strip("()").strip() for g in golds if _is_letter_gold(g)]
    if letter_golds and len(letter_golds) == len(golds):
        # Free-form rows whose answer is a letter (choices drawn in the image: MathVision ids 59/434,
        # a few MMMU "open" rows): parse a letter, never guess.
        letters = choice.allowed_letters(None, max(letter_golds))
        if _no_single_choice(response, span, method, letters):
            return False, span or "", False
        pred = choice.parse_choice(span, None, letters) if span is not None else None
        if pred is None and opts["mc_fallback"]:
            pred = choice.parse_choice_in_response(response, None, letters)
        return pred in set(letter_golds), pred or (span or ""), False
    if not span:
        return False, "", False
    ok, timed_out = _free_form_match(span, golds, benchmark, opts)
    return ok, span, timed_out


def _options(extra: Mapping) -> list[str]:
    opts = extra.get("options")
    if isinstance(opts, str):
        s = opts.strip()
        if s.startswith("[") and s.endswith("]") and len(s) < 20_000:
            try:
                return _as_str_list(ast.literal_eval(s))  # dataset text (MMMU stores a Python list repr)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return []
        return []
    return _as_str_list(opts)


def _check_options(format_weight, format_style, timeout_s, mc_fallback, use_math_verify) -> dict:
    try:
        w = float(format_weight)
    except (TypeError, ValueError) as e:
        raise ValueError(f"format_weight must be a number in [0, 1], got {format_weight!r}") from e
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"format_weight must be in [0, 1], got {w}")
    if format_style not in extract.FORMAT_STYLES:
        raise ValueError(f"format_style must be one of {extract.FORMAT_STYLES}, got {format_style!r}")
    try:
        t = float(timeout_s)
    except (TypeError, ValueError) as e:
        raise ValueError(f"timeout_s must be a positive number, got {timeout_s!r}") from e
    if not t > 0:
        raise ValueError(f"timeout_s must be > 0, got {t}")
    for name, val in (("mc_fallback", mc_fallback), ("use_math_verify", use_math_verify)):
        if not isinstance(val, bool):
            raise ValueError(f"{name} must be a bool, got {val!r}")
    return {
        "format_weight": w,
        "format_style": format_style,
        "timeout_s": t,
        "mc_fallback": mc_fallback,
        "use_math_verify": use_math_verify,
    }


def compute_score(
    data_source: Any,
    solution_str: Any,
    ground_truth: Any,
    extra_info: Mapping | None = None,
    *,
    format_weight: float = DEFAULT_FORMAT_WEIGHT,
    format_style: str = "any",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    mc_fallback: bool = True,
    use_math_verify: bool = True,
    **kwargs: Any,
) -> dict:
    """Score one response; see the module docstring for the returned keys and the options."""
    opts = _check_options(format_weight, format_style, timeout_s, mc_fallback, use_math_verify)
    global _PRESTARTED
    if not _PRESTARTED:  # first call in this process: start the grader worker's imports early
        pool = get_pool()  # a bad RLSD_REWARD_GRADER* setting raises ValueError here
        try:
            pool.prestart()
        except OSError:
            logger.warning("rlsd_verl.rewards: could not pre-start a grader worker", exc_info=True)
        _PRESTARTED = True
    extra = extra_info if isinstance(extra_info, Mapping) else {}
    benchmark = benchmark_of(data_source)
    result = {
        "score": 0.0,
        "acc": 0.0,
        "format": 0.0,
        "timeout": 0.0,
        "pred": "",
        "benchmark": benchmark,
        "data_source": str(data_source if data_source is not None else ""),
        "subject": str(extra.get("subject") or ""),
        "sample_id": str(extra.get("id") or (extra.get("index") if extra.get("index") is not None else "")),
    }
    try:
        response = solution_str if isinstance(solution_str, str) else ("" if solution_str is None else str(solution_str))
        fmt = extract.check_format(response, opts["format_style"])
        golds = _gold_list(ground_truth, extra)
        options = _options(extra)
        span, method = extract.extract_final_answer(response, bare_braces=benchmark.startswith("ZeroBench"))
        ok, pred, timed_out = False, span or "", False
        if golds:
            is_mc = _question_type(extra, options, golds) == "multiple_choice"
            if is_mc and not any(choice.gold_letter(g, options) for g in golds):
                is_mc = False  # the gold names no option: compare it as a free-form answer
            if is_mc:
                ok, pred, timed_out = _score_multiple_choice(response, span, method, golds, options, benchmark, opts)
            else:
                ok, pred, timed_out = _score_free_form(response, span, method, golds, benchmark, opts)
        acc = 1.0 if ok else 0.0
        w = opts["format_weight"]
        result.update(
            score=float((1.0 - w) * acc + w * (1.0 if fmt else 0.0)),
            acc=acc,
            format=1.0 if fmt else 0.0,
            timeout=1.0 if timed_out else 0.0,
            pred=(pred or "")[:MAX_PRED_CHARS],
        )
    except Exception:  # noqa: BLE001 - never raise on model text; a bug is logged and scored wrong
        logger.exception("rlsd_verl.rewards.compute_score failed (data_source=%r); scored as wrong", data_source)
    return result


def score_timed(*args, **kwargs) -> tuple[dict, float]:
    """``compute_score`` plus its wall time in seconds (for benchmarks and tests)."""
    t0 = time.perf_counter()
    out = compute_score(*args, **kwargs)
    return out, time.perf_counter() - t0
