"""Option / gold parsing without eval, escape repair, and the rule-verifiability test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlsd_verl.data.answers import (
    clean_gold,
    letter_of,
    options_from_text,
    parse_gold_list,
    parse_lettered_options,
    relabelled_letter,
    parse_list_literal,
    repair_escapes,
    verifiable_kind,
)


def test_parse_list_literal_reads_mmmu_options():
    assert parse_list_literal("['$6', '$7', '$8', '$9']", "o") == ["$6", "$7", "$8", "$9"]
    assert parse_list_literal("['<image 2>', \"it's\", '5']", "o") == ["<image 2>", "it's", "5"]
    assert parse_list_literal("[]", "o") == []
    assert parse_list_literal(["a", "b"], "o") == ["a", "b"]


@pytest.mark.parametrize(
    "text",
    ["__import__('os').system('echo hacked')", "['a'] + ['b']", "[open('x')]", "['a', ['nested']]", "{'a': 1}",
     "['unterminated", 42],
)
def test_parse_list_literal_never_evaluates_code(text):
    with pytest.raises(ValueError) as e:
        parse_list_literal(text, "row 3, column options")
    assert "row 3, column options" in str(e.value)


@given(st.lists(st.text(max_size=20), max_size=6))
@settings(max_examples=100, deadline=None)
def test_parse_list_literal_round_trips_repr(values):
    assert parse_list_literal(repr(values), "o") == values


def test_gold_lists():
    assert parse_gold_list("['24/7', '3.429']") == ["24/7", "3.429"]
    assert parse_gold_list("['$MgS$','MgS']") == ["$MgS$", "MgS"]
    assert parse_gold_list("1.06") == ["1.06"]
    assert parse_gold_list("[1, 2") == ["[1, 2"]  # not a list literal: kept as text
    assert parse_gold_list("[3, 4]") == ["3", "4"]


def test_repair_escapes():
    assert repair_escapes("\x0crac{36}{13}") == "\\frac{36}{13}"
    assert repair_escapes("\x08eta") == "\\beta"
    assert repair_escapes("2\times 3") == "2\\times 3"
    assert repair_escapes("\\frac{1}{2}") == "\\frac{1}{2}"
    assert repair_escapes("a\t1") == "a\t1"  # a tab before a digit is left alone


@pytest.mark.parametrize(
    "raw, clean",
    [("$4 \\pi$", "4 \\pi"), ("$\\boxed{\\frac{16}{7}}$", "\\frac{16}{7}"), ("\\boxed{3}", "3"),
     (" 12 ", "12"), ("\\boxed{a}+\\boxed{b}", "\\boxed{a}+\\boxed{b}"), ("$", "$")],
)
def test_clean_gold(raw, clean):
    assert clean_gold(raw) == clean


def test_letters():
    assert [letter_of(x) for x in ("B", "(C)", "D.", "b", "AB", "12")] == ["B", "C", "D", None, None, None]


def test_lettered_options():
    assert parse_lettered_options("A. 200.96;B. 3215.36;C. 6280;D. 32; E. No correct answer", "w") == [
        "200.96", "3215.36", "6280", "32", "No correct answer"]
    assert parse_lettered_options("A. 1:2;B. 2:3", "w") == ["1:2", "2:3"]
    with pytest.raises(ValueError, match="row 5, column option: cannot read lettered options"):
        parse_lettered_options("A. 1;C. 3", "row 5, column option")
    with pytest.raises(ValueError, match="cannot read lettered options"):
        parse_lettered_options("1;2;3", "w")


@pytest.mark.parametrize("text, options, repairs", [
    # a ";" the release put before a capital letter + period, inside an option's text
    ("A. Rotate about point ;O.;B. Reflect in line ;L.;C. No.; D. No correct answer",
     ["Rotate about point O.", "Reflect in line L.", "No.", "No correct answer"], ["stray_semicolon"]),
    # ";X." directly followed by the next option's marker
    ("A. Move to ;C.  ;B. Move past ;C. ;C. Stay; D. No correct answer",
     ["Move to C.", "Move past C.", "Stay", "No correct answer"], ["stray_semicolon"]),
    # options run together without ";"
    ("A. 45° B. 60° ;C. 120°; D. No correct answer", ["45°", "60°", "120°", "No correct answer"], []),
    ("A. 4 B. 3 C. 2 ;D. 1; E. No correct answer", ["4", "3", "2", "1", "No correct answer"], []),
    # the "No correct answer" option lettered F after C
    ("A. Yes;B. Maybe;C. No.; F. No correct answer", ["Yes", "Maybe", "No.", "No correct answer"], ["relabelled:F->D"]),
    # angle names glued to a stray ";"
    ("A. Angle ∠AB;E.; B. Angle ∠AB;C.; C. None; D. No correct answer",
     ["Angle ∠ABE.", "Angle ∠ABC.", "None", "No correct answer"], ["stray_semicolon"]),
])
def test_lettered_options_real_quirks(text, options, repairs):
    got_repairs = []
    assert parse_lettered_options(text, "w", repairs=got_repairs) == options
    for r in repairs:
        assert r in got_repairs
    assert relabelled_letter(got_repairs, "F") == ("D" if "relabelled:F->D" in repairs else "F")


def test_letter_valued_options_parse_as_text():
    assert parse_lettered_options("A. F;    B. D;    C. B;    D. I; E. No correct answer", "w") == [
        "F", "D", "B", "I", "No correct answer"]


def test_options_from_text():
    assert options_from_text("Q?\nA. 1\nB. 2\n(C) 3\nD) 4") == ["1", "2", "3", "4"]
    assert options_from_text("Q?\nA. only one") is None
    assert options_from_text("Q?\nB. 2\nC. 3") is None  # must start at A
    assert options_from_text("no options at all") is None


@pytest.mark.parametrize(
    "answer, kind",
    [("A", "letter"), ("(B)", "letter"), ("Yes", "yes_no"), ("no", "yes_no"), ("3.5", "number"),
     ("-12", "number"), ("1,000", "number"), ("50%", "number"), ("7/9", "number"), ("60°", "number"),
     ("\\frac{1}{2}", "expression"), ("$2\\sqrt{3}$", "expression"), ("x^2+1", "expression"),
     ("(3,-4)", "expression"), ("\\boxed{5}", "number"), ("The cat sat on the mat", None), ("red", None),
     ("trans-1-Chloro-4-methylcyclohexane", None), ("", None), ("x" * 100 + "1", None)],
)
def test_verifiable_kind(answer, kind):
    assert verifiable_kind(answer) == kind
