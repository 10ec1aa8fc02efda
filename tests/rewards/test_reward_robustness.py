"""Robustness of ``compute_score``: never raises, bounded time, deterministic, thread-safe.

Timing bound: the sympy checks of one call get ``timeout_s`` (default 2 s) in a grader process; the
assertions allow :data:`SLACK_S` on top. The slack is generous on purpose: a CI machine shared with other
heavy jobs can stall any process for seconds, and the property under test is that a call is *bounded*
(the explosive inputs below would otherwise run for minutes or forever), not how fast it is (speed
lives in the benchmarks). Correct answers that must be graded as correct get a large ``timeout_s``, so a
stalled machine cannot turn them into timeouts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlsd_verl.rewards import DEFAULT_TIMEOUT_S, RESULT_KEYS, compute_score
from rlsd_verl.rewards.scoring import score_timed

SLACK_S = float(os.environ.get("RLSD_TEST_TIME_SLACK_S", "15"))
GENEROUS_S = 60.0  # timeout_s for calls whose verdict (not their time) is under test
SOURCES = ["MMMU/MMMU", "MathLLMs/MathVision", "AI4Math/MathVista", "We-Math/We-Math",
           "jonathan-roberts1/zerobench", "hiyouga/geometry3k", "unknown/source"]
EXTRAS = [
    None,
    {},
    {"question_type": "multiple_choice", "options": ["1", "2", "3", "4"]},
    {"question_type": "multiple_choice", "options": []},
    {"question_type": "free_form", "options": [], "gold_answers": ["24/7", "3.429"]},
]

FRAGMENTS = ["\\boxed{", "}", "{", "<answer>", "</answer>", "<think>", "</think>", "\\frac{", "\\sqrt{", "^{",
             "9", "x", "=", "(", ")", "(B)", " B ", "Answer: ", "\\text{", "$", "\\", "\n", "1/2", "0.5", "!",
             "\\infty", "e", "^", "**", "__", "'", ",", "10^{10^{", "\\prod_{n=1}^{", "\\sum_{k=1}^{"]


def _check(out: dict) -> None:
    assert set(out) == set(RESULT_KEYS)
    for key in ("score", "acc", "format", "timeout"):
        assert isinstance(out[key], float) and 0.0 <= out[key] <= 1.0
    assert out["acc"] in (0.0, 1.0) and out["format"] in (0.0, 1.0)
    assert isinstance(out["pred"], str) and len(out["pred"]) <= 200
    if out["timeout"] == 1.0:
        assert out["acc"] == 0.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    response=st.text(max_size=400),
    gt=st.text(max_size=40),
    source=st.sampled_from(SOURCES),
    extra=st.sampled_from(EXTRAS),
)
def test_random_unicode_never_raises(response, gt, source, extra):
    out, dt = score_timed(source, response, gt, extra)
    _check(out)
    assert dt < DEFAULT_TIMEOUT_S + SLACK_S


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS), max_size=40),
    gt=st.sampled_from(["12", "\\frac{1}{2}", "B", "3\\sqrt{3}", "(3,-4)", "Tampa", "x^{2}"]),
    source=st.sampled_from(SOURCES),
    extra=st.sampled_from(EXTRAS),
)
def test_latex_soup_never_raises(parts, gt, source, extra):
    out, dt = score_timed(source, "".join(parts), gt, extra)
    _check(out)
    assert dt < DEFAULT_TIMEOUT_S + SLACK_S


MEGA = 1_000_000
HUGE_INPUTS = [
    "x" * MEGA,
    "{" * MEGA,
    "}" * MEGA,
    "\\boxed{" * (MEGA // 7),
    "</answer>" * (MEGA // 9),
    "<answer>" * (MEGA // 8) + "</answer>",
    "answer is " * (MEGA // 10),
    "(A) " * (MEGA // 4),
    "1" * MEGA,
    "\\boxed{" + "1" * MEGA + "}",
    "<answer>" + "\\frac{" * 50_000 + "</answer>",
    "é漢字🙂\u200b\x00" * (MEGA // 6),
]


@pytest.mark.parametrize("text", HUGE_INPUTS, ids=[f"huge{i}" for i in range(len(HUGE_INPUTS))])
def test_megabyte_inputs_are_fast(text):
    for source, extra in (("MMMU/MMMU", EXTRAS[2]), ("MathLLMs/MathVision", EXTRAS[4]), ("x", None)):
        out, dt = score_timed(source, text, "12", extra)
        _check(out)
        assert dt < 1.5, (source, dt)


EXPLOSIVE = [
    "\\boxed{9^{9^{9^{9}}}}",
    "\\boxed{10^{10^{100}}}",
    "\\boxed{999999999!}",
    "\\boxed{\\prod_{n=1}^{10^{9}} n}",
    "\\boxed{\\sum_{k=1}^{10^{12}} k^{2}}",
    "\\boxed{(2^{2^{30}})!}",
]


@pytest.mark.parametrize("text", EXPLOSIVE)
def test_sympy_explosions_time_out_as_wrong(text):
    out, dt = score_timed("generic", text, "12", {"question_type": "free_form"}, timeout_s=1.0)
    _check(out)
    assert dt < 1.0 + SLACK_S
    assert out["acc"] == 0.0
    # deterministic: the same call gives the same result (timeouts are cached per process)
    again, _ = score_timed("generic", text, "12", {"question_type": "free_form"}, timeout_s=1.0)
    assert again == out


def test_timeout_is_reported():
    out = compute_score("generic", "\\boxed{9^{9^{9^{9}}}}", "7", {}, timeout_s=0.5)
    assert out["timeout"] == 1.0 and out["acc"] == 0.0 and out["score"] == 0.0


def test_deterministic_and_thread_safe():
    cases = [
        ("MMMU/MMMU", f"<answer>{a}</answer>", g, e)
        for a, g, e in [
            ("B", "B", EXTRAS[2]), ("3.43", "3.429", EXTRAS[4]), ("\\sqrt{27}", "3\\sqrt{3}", None),
            ("2\\cdot 3", "6", None), ("x+1", "1+x", None), ("Florida", "Tampa", EXTRAS[4]), ("nope", "A", EXTRAS[2]),
        ]
    ] * 4
    sequential = [compute_score(*c, format_weight=0.0, timeout_s=GENEROUS_S) for c in cases]
    with ThreadPoolExecutor(max_workers=8) as ex:  # verl calls reward functions from an executor thread
        threaded = list(ex.map(lambda c: compute_score(*c, format_weight=0.0, timeout_s=GENEROUS_S), cases))
    assert threaded == sequential
    assert [o["acc"] for o in sequential[:7]] == [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_math_verify_works_off_the_main_thread_inline():
    """math-verify's own timeouts use signals and raise off the main thread; ours are disabled. With
    RLSD_REWARD_GRADER=inline the checks run in the calling (non-main) thread: "2\\cdot 3" == "6" is
    only proven by math-verify, so a True here shows it ran without raising."""
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from rlsd_verl.rewards import compute_score\n"
        "with ThreadPoolExecutor(2) as ex:\n"
        "    out = ex.submit(compute_score, 'x', '\\\\boxed{2\\\\cdot 3}', '6', None).result()\n"
        "print(out['acc'])\n"
    )
    env = dict(os.environ, RLSD_REWARD_GRADER="inline")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "1.0"


def test_grader_worker_crash_is_recovered():
    """A killed grader process is replaced; scoring keeps working (and never raises)."""
    from rlsd_verl.rewards._sandbox import get_pool

    assert compute_score("x", "\\boxed{\\sqrt{27}}", "3\\sqrt{3}", None, timeout_s=GENEROUS_S)["acc"] == 1.0
    pool = get_pool()
    for w in list(pool._all):
        w.proc.kill()
        w.proc.wait()
    t0 = time.perf_counter()
    out = compute_score("x", "\\boxed{\\sqrt{48}}", "4\\sqrt{3}", None, timeout_s=GENEROUS_S)
    assert out["acc"] == 1.0  # checked inline for this call, a new worker for the next ones
    assert time.perf_counter() - t0 < GENEROUS_S + SLACK_S
    assert compute_score("x", "\\boxed{\\sqrt{75}}", "5\\sqrt{3}", None, timeout_s=GENEROUS_S)["acc"] == 1.0
