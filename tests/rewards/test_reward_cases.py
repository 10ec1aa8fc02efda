"""Tricky answer cases per benchmark for ``rlsd_verl.rewards.compute_score`` (evaluation weights: w=0).

Each row: (data_source, response, ground_truth, extra_info, expected acc, expected pred or None).
"""

from __future__ import annotations

import pytest

from rlsd_verl.rewards import RESULT_KEYS, benchmark_of, compute_score, extract_final_answer, last_boxed, parse_choice

MMMU = "MMMU/MMMU"
MV = "MathLLMs/MathVision"
VISTA = "AI4Math/MathVista"
WEMATH = "We-Math/We-Math"
ZB = "jonathan-roberts1/zerobench"
GEO = "hiyouga/geometry3k"
MMFR = "OpenDataArena/MMFineReason"


def mc(options, **kw):
    return {"question_type": "multiple_choice", "options": list(options), **kw}


def ff(**kw):
    return {"question_type": "free_form", "options": [], **kw}


OPTS4 = ["$6", "$7", "$8", "$9"]

CASES = [
    # --- MMMU multiple choice -------------------------------------------------------------------
    (MMMU, "The answer is \\boxed{B}.", "B", mc(OPTS4), 1.0, "B"),
    (MMMU, "<answer>D</answer>", "D", mc(OPTS4), 1.0, "D"),
    (MMMU, "<answer>(C)</answer>", "C", mc(OPTS4), 1.0, "C"),
    (MMMU, "So the answer is (B).", "B", mc(OPTS4), 1.0, "B"),
    (MMMU, "The answer is (B)", "C", mc(OPTS4), 0.0, "B"),
    (MMMU, "A. 12 m", "A", mc(["12 m", "13 m"]), 1.0, "A"),
    (MMMU, "<answer>$8</answer>", "C", mc(OPTS4), 1.0, "C"),  # option text match
    (MMMU, "<answer>13 m</answer>", "B", mc(["12 m", "13 m"]), 1.0, "B"),
    (MMMU, "<answer>Option B</answer>", "B", mc(OPTS4), 1.0, "B"),
    (MMMU, "<answer>**B**</answer>", "B", mc(OPTS4), 1.0, "B"),
    (MMMU, "\\boxed{\\text{B}}", "B", mc(OPTS4), 1.0, "B"),
    (MMMU, "Final answer: (A)", "A", mc(OPTS4), 1.0, "A"),
    (MMMU, "<answer>E</answer>", "A", mc(OPTS4), 0.0, None),  # letter outside the options: no answer
    (MMMU, "<answer>Tampa or Miami</answer>", "A", mc(["Tampa", "Miami"]), 0.0, None),  # two options named
    (MMMU, "<answer>tampa</answer>", "A", mc(["Tampa", "Miami"]), 1.0, "A"),
    # no answer anywhere: acc 0 and no random letter (the official parser would guess)
    (MMMU, "I cannot determine this from the image.", "A", mc(OPTS4), 0.0, None),
    (MMMU, "", "A", mc(OPTS4), 0.0, ""),
    # the whole-response fallback uses strong signals only
    ("MMMU/MMMU", "Let me think about it carefully. Comparing all of them, the best one is (B) here.", "B", mc(OPTS4), 1.0, "B"),
    # options given as MMMU's stringified list
    (MMMU, "<answer>B</answer>", "B", {"question_type": "multiple_choice", "options": "['a', 'b', 'c']"}, 1.0, "B"),
    # --- MMMU open ---------------------------------------------------------------------------------
    (MMMU, "<answer>1.06</answer>", "1.06", ff(), 1.0, "1.06"),
    (MMMU, "<answer>1.0600</answer>", "1.06", ff(), 1.0, None),
    (MMMU, "<answer>2,000,000</answer>", "2000000", ff(), 1.0, None),
    (MMMU, "<answer>3.43</answer>", "['24/7', '3.429']", ff(), 1.0, None),  # multiple golds (repr list)
    (MMMU, "<answer>24/7</answer>", "3.429", ff(gold_answers=["24/7", "3.429"]), 1.0, None),
    (MMMU, "<answer>Florida</answer>", "Tampa", ff(gold_answers=["Tampa", "Florida"]), 1.0, None),
    (MMMU, "<answer>trans-1-Chloro-4-methylcyclohexane</answer>", "trans-1-Chloro-4-methylcyclohexane", ff(), 1.0, None),
    (MMMU, "<answer>embryonic stage</answer>", "embryonic", ff(), 1.0, None),  # official substring rule
    (MMMU, "<answer>1.07</answer>", "1.06", ff(), 0.0, None),
    (MMMU, "<answer>C</answer>", "C", ff(), 1.0, "C"),  # "open" row with a letter gold
    (MMMU, "<answer>$MgS$</answer>", "['$MgS$','MgS']", ff(), 1.0, None),
    # --- MathVision ----------------------------------------------------------------------------
    (MV, "<answer>C</answer>", "C", mc(["A", "B", "C", "D", "E"]), 1.0, "C"),
    (MV, "\\boxed{(D)}", "D", mc(["A", "B", "C", "D", "E"]), 1.0, "D"),
    (MV, "\\boxed{4}", "B", mc(["2", "4", "6", "8", "10"]), 1.0, "B"),  # the option's text names B
    (MV, "\\boxed{6}", "B", mc(["2", "4", "6", "8", "10"]), 0.0, "C"),
    (MV, "\\boxed{4.0}", "B", mc(["2", "4", "6", "8", "10"]), 1.0, "4.0"),  # equals the gold option's value
    (MV, "<answer>B</answer>", "B", ff(), 1.0, "B"),  # free-form row with a letter gold (ids 59, 434)
    (MV, "<answer>\\frac{\\sqrt{6}}{6}</answer>", "$\\frac{\\sqrt{6}}{6}$", ff(), 1.0, None),
    (MV, "<answer>\\sqrt{6}/6</answer>", "\\frac{\\sqrt{6}}{6}", ff(), 1.0, None),
    (MV, "<answer>2.83</answer>", "2\\sqrt{2}", ff(), 1.0, None),  # official 2-decimal rule
    (MV, "<answer>36/13</answer>", "\x0crac{36}{13}", ff(), 1.0, None),  # corrupted gold (id 2830)
    (MV, "<answer>(3, -4)</answer>", "(3,-4)", ff(), 1.0, None),
    (MV, "<answer>1:2</answer>", "1:2", ff(), 1.0, None),
    (MV, "<answer>69^\\circ</answer>", "69{degrees}", ff(), 1.0, None),
    (MV, "\\boxed{\\frac{16}{7}}", "$\\boxed{\\frac{16}{7}}$", ff(), 1.0, None),
    (MV, "<answer>4\\pi</answer>", "$4 \\pi$", ff(), 1.0, None),
    (MV, "<answer>12.5</answer>", "13", ff(), 0.0, None),
    # --- MathVista ------------------------------------------------------------------------------
    (VISTA, "<answer>145°</answer>", "145°", mc(["135°", "145°", "155°"]), 1.0, "B"),  # gold = option text
    (VISTA, "<answer>B</answer>", "145°", mc(["135°", "145°", "155°"]), 1.0, "B"),
    (VISTA, "<answer>1.45</answer>", "1.45", ff(), 1.0, None),
    (VISTA, "<answer>1.452</answer>", "1.45", ff(), 1.0, None),  # rounded to the gold's precision
    (VISTA, "<answer>1.46</answer>", "1.45", ff(), 0.0, None),
    (VISTA, "<answer>[2, 3]</answer>", "[2, 3]", ff(), 1.0, None),
    # --- WeMath (multiple choice, options in the question) ----------------------------------------
    (WEMATH, "<answer>A</answer>", "A", mc([]), 1.0, "A"),
    (WEMATH, "<answer>The answer is (E)</answer>", "E", mc([]), 1.0, "E"),
    (WEMATH, "<answer>none</answer>", "C", mc([]), 0.0, None),
    # --- ZeroBench (free form; "{final answer}" convention) ------------------------------------
    (ZB, "Counting the objects gives {14}", "14", ff(), 1.0, "14"),
    (ZB, "so the total is 12 apples. Final: {12}", "14", ff(), 0.0, None),
    (ZB, "<answer>Blue</answer>", "blue", ff(), 1.0, None),
    (ZB, "\\boxed{3, 5}", "3, 5", ff(), 1.0, None),
    (ZB + "_subquestions", "there are {7}", "7", ff(), 1.0, "7"),
    # --- geometry3k / generic math --------------------------------------------------------------
    (GEO, "<think>..</think> \\boxed{3\\sqrt{3}}", "3\\sqrt{3}", {}, 1.0, "3\\sqrt{3}"),
    (GEO, "<think>..</think> \\boxed{\\sqrt{27}}", "3\\sqrt{3}", {}, 1.0, None),
    (GEO, "\\boxed{\\frac{\\frac{1}{2}}{3}}", "\\frac{1}{6}", {}, 1.0, "\\frac{\\frac{1}{2}}{3}"),  # nested braces
    (GEO, "\\boxed{5} then later \\boxed{7}", "7", {}, 1.0, "7"),  # the last box counts
    # the last \boxed{ is unclosed: its content is the final answer (MathVision's official reading)
    (GEO, "\\boxed{7} and a truncated \\boxed{8", "7", {}, 0.0, "8"),
    (GEO, "\\boxed{7} and a truncated \\boxed{8", "8", {}, 1.0, "8"),
    (GEO, "so x = \\boxed{7} and then \\boxed{\\frac{1}{", "7", {}, 0.0, None),  # a cut-off final box: 7 is not final
    # only a plain final box is read: nested unclosed boxes (a degenerate, truncated response) give nothing
    (GEO, "\\boxed{\\boxed{8", "8", {}, 0.0, None),
    (GEO, "so {x = \\boxed{8", "8", {}, 0.0, None),  # an earlier brace is still open
    (MMMU, "so the answer is \\boxed{B", "B", mc(OPTS4), 1.0, "B"),
    (MMFR, "<answer>0.5</answer>", "\\frac{1}{2}", ff(), 1.0, None),  # fraction vs decimal
    (MMFR, "<answer>1/3</answer>", "0.333", ff(), 0.0, None),  # strict outside MMMU/MathVision
    (MMFR, "<answer>60^\\circ</answer>", "60", ff(), 1.0, None),
    (MMFR, "<answer>8 cm</answer>", "8", ff(), 1.0, None),  # units
    (MMFR, "<answer>12 \\text{ m}</answer>", "12", ff(), 1.0, None),
    (MMFR, "<answer>12</answer>", "12 m^2", ff(), 1.0, None),
    (MMFR, "<answer>Yes</answer>", "yes", ff(), 1.0, None),
    (MMFR, "<answer>No</answer>", "yes", ff(), 0.0, None),
    (MMFR, "<answer>4\\pi + 6\\sqrt{3}</answer>", "6\\sqrt{3}+4\\pi", ff(), 1.0, None),
    (MMFR, "Answer: 42", "42", ff(), 1.0, "42"),  # final "answer:" line
    (MMFR, "<answer>The final answer is 42.</answer>", "42", ff(), 1.0, "42"),  # marker inside the tag
    (MMFR, "<answer>The answer is (B)</answer>", "B", mc(["x", "y"]), 1.0, "B"),
    (MMFR, "Step 1...\nFinal Answer:\n$42$", "42", ff(), 1.0, "42"),
    (MMFR, "<answer>B</answer>", "B", mc(["x", "y"]), 1.0, "B"),
    ("some/unknown-dataset", "<answer>7</answer>", "7", None, 1.0, "7"),  # unknown source -> generic
]


@pytest.mark.parametrize("data_source,response,gt,extra,acc,pred", CASES, ids=[f"{c[0]}|{c[1][:30]}|{c[2][:12]}" for c in CASES])
def test_reward_case(data_source, response, gt, extra, acc, pred):
    out = compute_score(data_source, response, gt, extra, format_weight=0.0)
    assert set(out) == set(RESULT_KEYS)
    assert out["acc"] == acc, out
    assert out["score"] == acc  # w = 0
    assert out["timeout"] == 0.0
    if pred is not None:
        assert out["pred"] == pred, out


@pytest.mark.parametrize("nest", [2, 10, 1000])
@pytest.mark.parametrize("tail", ["A", "A.", " A", "A\n"])
def test_nested_unclosed_boxes_earn_nothing(nest, tail):
    """A truncated, degenerate response of ``nest`` nested unclosed ``\\boxed{`` ending in the gold
    letter must not earn reward (it scored 1 when any unclosed final box was read)."""
    response = "Let me think. " + "\\boxed{" * nest + tail
    out = compute_score(MMMU, response, "A", mc(OPTS4), format_weight=0.0)
    assert out["acc"] == 0.0, out
    assert out["pred"] == "", out
    # the same letter in one plain unclosed final box is read (the rule the nesting check narrows)
    plain = compute_score(MMMU, "Let me think. \\boxed{" + tail, "A", mc(OPTS4), format_weight=0.0)
    assert plain["acc"] == 1.0 and plain["pred"] == "A", plain


def test_no_answer_is_never_a_random_letter():
    """Responses without any letter: for every option count and gold, the prediction is empty."""
    texts = ["", "hmm", "I think the image is blurry.", "\\boxed{}", "<answer></answer>", "x" * 5000]
    for n in range(2, 8):
        options = [f"opt{i}" for i in range(n)]
        for gold in "ABCDEFG"[:n]:
            for t in texts:
                out = compute_score(MMMU, t, gold, mc(options), format_weight=0.0)
                assert out["acc"] == 0.0 and out["pred"] not in set("ABCDEFG"), (t, out)


@pytest.mark.parametrize(
    "w,response,expected",
    [
        (0.1, "<think>r</think> so \\boxed{5}", 1.0),
        (0.1, "<thought>r</thought> <answer>5</answer>", 1.0),
        (0.1, "\\boxed{5}", 0.9),
        (0.1, "<think>r</think> \\boxed{6}", 0.1),
        (0.1, "6", 0.0),
        (0.0, "<think>r</think> \\boxed{6}", 0.0),
        (0.5, "<think>r</think> \\boxed{5}", 1.0),
        (0.5, "\\boxed{5}", 0.5),
    ],
)
def test_score_is_weighted_acc_and_format(w, response, expected):
    out = compute_score(GEO, response, "5", {}, format_weight=w)
    assert out["score"] == pytest.approx(expected)
    assert out["score"] == pytest.approx((1 - w) * out["acc"] + w * out["format"])


def test_default_format_weight_is_training_value():
    out = compute_score(GEO, "\\boxed{5}", "5", {})
    assert out["acc"] == 1.0 and out["format"] == 0.0 and out["score"] == pytest.approx(0.9)


def test_format_styles():
    geo = "<think>r</think> \\boxed{1}"
    rlsd = "<thought>r</thought>\n<answer>1</answer>\n"
    assert compute_score(GEO, geo, "1", {}, format_style="think_boxed")["format"] == 1.0
    assert compute_score(GEO, rlsd, "1", {}, format_style="think_boxed")["format"] == 0.0
    assert compute_score(GEO, rlsd, "1", {}, format_style="thought_answer")["format"] == 1.0
    assert compute_score(GEO, geo, "1", {}, format_style="thought_answer")["format"] == 0.0
    assert compute_score(GEO, rlsd + " trailing", "1", {}, format_style="thought_answer")["format"] == 0.0
    assert compute_score(GEO, "<think>never closed \\boxed{1}", "1", {})["format"] == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [{"format_weight": 1.5}, {"format_weight": "heavy"}, {"format_style": "xml"}, {"timeout_s": 0}, {"mc_fallback": "yes"}],
)
def test_bad_options_raise_clear_errors(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        compute_score(GEO, "\\boxed{1}", "1", {}, **kwargs)


def test_extra_verl_kwargs_are_ignored():
    out = compute_score(GEO, "\\boxed{1}", "1", {}, reward_router_address=None, reward_model_tokenizer=None)
    assert out["acc"] == 1.0


def test_metadata_fields():
    extra = ff(id="validation_Math_15", subject="Math", index=14)
    out = compute_score(MMMU, "\\boxed{1}", "1", extra)
    assert (out["benchmark"], out["data_source"], out["subject"], out["sample_id"]) == ("MMMU", MMMU, "Math", "validation_Math_15")
    out = compute_score("x", "\\boxed{1}", "1", {"index": 3})
    assert (out["benchmark"], out["sample_id"], out["subject"]) == ("generic", "3", "")


@pytest.mark.parametrize(
    "ds,bench",
    [(MMMU, "MMMU"), (MV, "MathVision"), (VISTA, "MathVista"), (WEMATH, "WeMath"), (ZB, "ZeroBench"), (ZB + "_subquestions", "ZeroBench-sub"), (GEO, "geometry3k"),
     ("MMMU/MMMU_Pro", "MMMU-Pro"), ("my/mathvision_testmini", "MathVision"), ("whatever", "generic"), (None, "generic")],
)
def test_benchmark_dispatch(ds, bench):
    assert benchmark_of(ds) == bench


def test_extraction_order():
    assert extract_final_answer("\\boxed{1} <answer>2</answer>") == ("2", "answer_tag")
    assert extract_final_answer("<answer>so \\boxed{3}</answer>") == ("3", "answer_tag")
    assert extract_final_answer("x \\boxed{a{b}c} y") == ("a{b}c", "boxed")
    assert extract_final_answer("long text " * 50 + "\nAnswer: 12.") == ("12", "answer_line")
    assert extract_final_answer("z" * 400) == (None, "")
    assert last_boxed("\\boxed{1} \\boxed{2") == "1"
    assert last_boxed("no box") is None
    assert parse_choice("(B) 12 m", ["11 m", "12 m"]) == "B"
    assert parse_choice("nothing", ["11 m", "12 m"]) is None


def test_non_string_inputs_do_not_raise():
    for resp in (None, 12, b"\\boxed{1}", ["a"]):
        out = compute_score(GEO, resp, "1", {})
        assert set(out) == set(RESULT_KEYS)
    for gt in (None, 1, ["1", "2"], ("1",), {"a": 1}):
        out = compute_score(GEO, "\\boxed{1}", gt, {})
        assert set(out) == set(RESULT_KEYS)
    assert compute_score(GEO, "\\boxed{1}", 1, None)["acc"] == 1.0
    assert compute_score(GEO, "\\boxed{2}", ["1", "2"], "not a dict")["acc"] == 1.0


def test_letter_rules_of_the_real_outputs():
    from rlsd_verl.rewards.choice import bare_letter, has_enumeration, names_several_letters

    assert [bare_letter(x) for x in ("B", "(B)", "B.", "Option B", "**C**", "b", "Be", "A decrease")] == [
        "B", "B", "B", "B", "C", "B", None, None]
    for several in ("(A),(B),(C)", "(A), (B), and (C)", "A and B", "A or E", "A B C", "A, B, C, D, E"):
        assert names_several_letters(several, "ABCDE"), several
    for single in ("A", "(A) 12", "A and the rest", "AB"):
        assert not names_several_letters(single, "ABCDE"), single
    assert has_enumeration("Choices:\n(A) yes\n(B) no")
    assert has_enumeration("A. 35°\nB. 110°")
    assert not has_enumeration("(A) (B) (C)\nThe answer is (A).")
    # a letter is matched against the option letters before the option texts
    opts = ["F", "D", "B", "I", "No correct answer"]
    assert parse_choice("D", opts) == "D" and parse_choice("(B)", opts) == "B"
    assert parse_choice("No correct answer", opts) == "E"
    # an article or a sentence subject is not a choice; a separator or the option text is
    assert parse_choice("A decrease in sunlight", ["grass", "owl"]) is None
    assert parse_choice("A is not the correct option", ["25°", "30°"]) is None
    assert parse_choice("B 30°", ["25°", "30°"]) == "B" and parse_choice("B: 30°", ["25°", "30°"]) == "B"


def test_numbers_exact_values_and_stated_precision():
    from rlsd_verl.rewards.equivalence import cheap_equal

    assert cheap_equal("2/3", "\\frac{121}{180}", "MathVision", "round2") is False
    assert cheap_equal("0.67", "\\frac{2}{3}", "MathVision", "round2") is True
    assert cheap_equal("\\frac{4}{6}", "\\frac{2}{3}", "MathVision", "round2") is True
    assert cheap_equal("1.50", "2", "MathVista", "gold_precision") is False
    assert cheap_equal("2.0", "2", "MathVista", "gold_precision") is True
    assert cheap_equal("1.449", "1.45", "MathVista", "gold_precision") is True
    assert cheap_equal("3.004", "3", "MMMU", "round2") is True
    assert cheap_equal("3", "3.004", "MMMU", "round2") is True
