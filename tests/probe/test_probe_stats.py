"""The probe's teacher-signal table from synthetic token records, and the CLI on given records."""

import json
import math

import pytest

from rlsd_verl.probe.__main__ import main, parse_named
from rlsd_verl.probe.stats import format_table, teacher_signal
from rlsd_verl.trainer.token_dump import append_records


def rec(correct, delta, answer, adv=None, eps_sign=None):
    adv = (1.0 if correct else -1.0) if adv is None else adv
    sign = (adv > 0) - (adv < 0)
    return {
        "correct": correct, "advantage": adv, "delta": delta, "answer_tokens": answer,
        "weight": [math.exp(sign * d) for d in delta],
    }


RIGHT = [  # the hint raises correct answers and lowers wrong ones
    rec(True, [0.0, 0.1, 1.0], [2]),
    rec(True, [-0.1, 0.0, 0.5], [2]),
    rec(False, [0.0, 0.2, -1.0], [2]),
    rec(False, [0.1, 0.0, -0.5], [2]),
]
WRONG = [  # it raises wrong answers
    rec(True, [0.0, 0.0, -0.4], [2]),
    rec(False, [0.0, 0.0, 0.8], [2]),
    rec(False, [0.0, -0.2, 0.6], [2]),
]


def test_means_by_outcome_and_span():
    s = teacher_signal(RIGHT)
    assert (s["responses"], s["correct"], s["wrong"], s["answer_tokens"]) == (4, 2, 2, 4)
    assert s["delta_correct"] == pytest.approx(1.5 / 6)
    assert s["delta_wrong"] == pytest.approx(-1.2 / 6)
    assert s["delta_answer"] == pytest.approx(0.0)
    assert s["delta_rest"] == pytest.approx(0.3 / 8)
    assert s["delta_answer_correct"] == pytest.approx(0.75) and s["delta_answer_wrong"] == pytest.approx(-0.75)
    assert s["answer_gap"] == pytest.approx(1.5)
    assert s["wrong_way_frac"] == 0.0
    assert s["verdict"].startswith("right way")


def test_wrong_way_verdict_and_share():
    s = teacher_signal(WRONG)
    assert s["wrong_way_frac"] == 1.0
    assert s["verdict"].startswith("WRONG WAY")


def test_wrong_way_uses_all_tokens_without_an_answer_span():
    s = teacher_signal([rec(True, [-0.3, -0.1], []), rec(False, [0.2, 0.0], [])])
    assert s["wrong_way_frac"] == 1.0 and s["verdict"].startswith("undecided: no answer span")


def test_clip_fractions_per_sign_of_a():
    s = teacher_signal([rec(True, [0.5, 0.0], [1]), rec(False, [0.5, 0.1, 0.0, 0.0], [0]), rec(True, [0.9], [], adv=0.0)],
                       clip_eps=0.2)
    # A>0: w = e^0.5 (high), e^0 → 1/2; A<0: w = e^-0.5 (low), e^-0.1, 1, 1 → 1/4; A=0 counts only in "all"
    assert s["clip_frac_pos_adv"] == pytest.approx(0.5) and s["clip_frac_neg_adv"] == pytest.approx(0.25)
    assert s["clip_high_frac"] == pytest.approx(1 / 7) and s["clip_low_frac"] == pytest.approx(1 / 7)


def test_undecided_without_both_outcomes_and_skips_records_without_teacher():
    s = teacher_signal([rec(True, [0.1], [0]), {"correct": False, "delta": None}])
    assert s["responses"] == 1 and s["verdict"].startswith("undecided")
    with pytest.raises(ValueError, match="clip_eps"):
        teacher_signal([], clip_eps=1.0)


def test_table_has_a_row_and_a_verdict_per_template():
    text = format_table({"paper": teacher_signal(WRONG), "inline": teacher_signal(RIGHT)})
    lines = text.splitlines()
    assert lines[1].startswith("paper") and lines[2].startswith("inline")
    assert lines[-2].startswith("paper: WRONG WAY") and lines[-1].startswith("inline: right way")


def test_cli_on_given_records_prints_json(tmp_path, capsys):
    a, b = tmp_path / "a.tokens.jsonl", tmp_path / "b.tokens.jsonl"
    append_records(a, RIGHT)
    append_records(b, WRONG)
    assert main(["--records", f"inline={a}", "--records", f"paper={b}", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["inline", "paper"]
    assert out["inline"]["answer_gap"] == pytest.approx(1.5) and out["paper"]["wrong_way_frac"] == 1.0


def test_cli_errors_name_the_flag(tmp_path):
    with pytest.raises(SystemExit, match="--records"):
        main(["--records", "nofile"])
    with pytest.raises(SystemExit):
        main(["--records", f"x={tmp_path / 'missing.jsonl'}"])
    with pytest.raises(SystemExit, match="twice"):
        parse_named(["a=1", "a=2"], "--records")
    assert parse_named(["paper", "mine=x {hint}"], "--template", {"paper": None}) == {"paper": None, "mine": "x {hint}"}
