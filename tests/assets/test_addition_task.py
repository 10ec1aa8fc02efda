"""The SmolLM2 addition task: schema, held-out split, ground truth and verifier."""

from __future__ import annotations

import re

import pytest

from rlsd_verl.assets import addition
from rlsd_verl.data.schema import check_parquet
from rlsd_verl.rewards.final_number import answer_char_span, compute_score, extract_answer


def test_split_is_disjoint_and_complete():
    train, val = addition.split_pairs()
    assert len(val) == addition.N_VAL_PAIRS and len(train) + len(val) == 100
    assert not set(train) & set(val)
    assert addition.split_pairs() == (train, val)  # fixed, not re-shuffled per call


def test_rows_answer_their_question_and_val_is_held_out(tmp_path):
    train_path, val_path = addition.write_addition_dataset(tmp_path, n_train=40, n_val=32, seed=3)
    check_parquet(train_path)
    check_parquet(val_path)
    train_rows = addition.make_rows("train", 40, seed=3)
    val_rows = addition.make_rows("val", 32)
    pairs = {}
    for split, rows in (("train", train_rows), ("val", val_rows)):
        for row in rows:
            a, b = map(int, re.fullmatch(r"What is (\d) \+ (\d)\?", row["prompt"][0]["content"]).groups())
            assert row["reward_model"]["ground_truth"] == str(a + b)
            assert row["extra_info"]["reference_solution"] == f"{a} + {b} = {a + b}"
            pairs.setdefault(split, set()).add((a, b))
    assert not pairs["train"] & pairs["val"]
    assert len(pairs["val"]) == 32
    assert addition.make_rows("train", 40, seed=3) == train_rows
    assert addition.make_rows("train", 40, seed=4) != train_rows


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="split"):
        addition.make_rows("test", 4)
    with pytest.raises(ValueError, match="positive"):
        addition.make_rows("train", 0)


@pytest.mark.parametrize(
    "text, answer",
    [
        ("3 + 4 = 7", "7"),
        ("3 + 4 = 7. So 7 - 1 = 6", "6"),
        ("The answer is 15.", "15"),
        ("It is \\boxed{12} or 3 = 4", "12"),
        ("no digits here", None),
        ("x = -2", "-2"),
    ],
)
def test_final_number(text, answer):
    assert extract_answer(text) == answer
    span = answer_char_span(text)
    assert (span is None) == (answer is None)
    if span:
        assert text[span[0] : span[1]] == answer


def test_verifier_scores_zero_or_one():
    assert compute_score("s", "5 + 8 = 13", "13") == {"score": 1.0, "acc": 1.0}
    assert compute_score("s", "5 + 8 = 14", "13")["acc"] == 0.0
    assert compute_score("s", "The sum is 13.0", 13)["acc"] == 1.0
    assert compute_score("s", "nothing", "13")["acc"] == 0.0
    with pytest.raises(ValueError, match="ground_truth"):
        compute_score("s", "1", "thirteen")


def test_cli_writes_the_chosen_task(tmp_path, capsys):
    from rlsd_verl.assets.__main__ import main

    assert main(["addition", "--out", str(tmp_path / "two"), "--task", "two_digit", "--n-train", "8"]) == 0
    import pandas as pd

    val = pd.read_parquet(tmp_path / "two" / "val.parquet")
    assert len(val) == addition.TASKS["two_digit"]["n_val"]  # the task's held-out set, each question once
    for text in val["prompt"].map(lambda p: p[0]["content"]):
        a, b = map(int, re.fullmatch(r"What is (\d\d) \+ (\d\d)\?", text).groups())
        assert 10 <= a <= 49 and 10 <= b <= 49
    assert "two_digit" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # an unknown task is refused by name
        main(["addition", "--out", str(tmp_path / "bad"), "--task", "four"])
