"""The column checks the benchmark builders share: values kept as given, bad rows named with their column."""

from __future__ import annotations

import pytest
import fixtures as fx

from rlsd_verl.data.build import BadRowError, BuildContext
from rlsd_verl.data.columns import (
    answer_column,
    benchmark_row,
    id_column,
    no_image_token,
    option_letter,
    single_image,
    str_column,
)
from rlsd_verl.data.schema import MULTIPLE_CHOICE

W = "row 3 (id=7)"


def test_str_column_keeps_the_text_and_names_the_column():
    assert str_column({"q": "  Why?  "}, "q", W) == "  Why?  "
    assert str_column({}, "q", W, allow_empty=True) == "" and str_column({"q": " "}, "q", W, allow_empty=True) == " "
    for raw, msg in (({}, "column q is missing/null"), ({"q": 5}, "column q must be a string, got int"),
                     ({"q": " \n"}, "column q is empty")):
        with pytest.raises(BadRowError, match=f"^row 3 \\(id=7\\): {msg}"):
            str_column(raw, "q", W)
    with pytest.raises(BadRowError, match="must be a string"):
        str_column({"q": 5}, "q", W, allow_empty=True)


def test_id_and_answer_columns_stringify_and_refuse_blanks():
    assert id_column({"pid": 12}, "pid", W) == "12"
    with pytest.raises(BadRowError, match="column pid is missing"):
        id_column({"pid": " "}, "pid", W)
    assert answer_column({"a": 3.5}, "a", W) == "3.5" and answer_column({"a": " B "}, "a", W) == "B"
    with pytest.raises(BadRowError, match=r"column a is empty \(no public answers\)$"):
        answer_column({"a": None}, "a", W, why="no public answers")


def test_no_image_token_and_option_letter():
    assert no_image_token("Find x.", "question", W) == "Find x."
    with pytest.raises(BadRowError, match="question_text already contains a literal '<image>' token"):
        no_image_token("<image> x", "question_text", W)
    assert option_letter("C", 3, "(C)", W) == "C"
    for letter in (None, "D"):
        with pytest.raises(BadRowError, match=r"column answer '\(D\)' is not one of the option letters"):
            option_letter(letter, 3, "(D)", W)


def test_single_image_prefers_the_decoded_column(tmp_path):
    ctx = BuildContext(base_dirs=[str(tmp_path)])
    (tmp_path / "a.png").write_bytes(fx.png(fx.COLOURS[2]))
    decoded = single_image({"decoded_image": fx.img(1), "image": "a.png"}, ctx, W)
    from_path = single_image({"decoded_image": None, "image": "a.png"}, ctx, W)
    assert fx.colour_of({"bytes": decoded}) == fx.COLOURS[1] and fx.colour_of({"bytes": from_path}) == fx.COLOURS[2]
    with pytest.raises(BadRowError, match="no image"):
        single_image({"image": ""}, ctx, W)


def test_benchmark_row_renders_the_prompt_style():
    kw = dict(data_source="src/x", split="test", question="<image>\nQ?\nA. 1\nB. 2", answer="B", images=[fx.png()],
              question_type=MULTIPLE_CHOICE, id="7", options=["1", "2"])
    paper, plain = benchmark_row(prompt_style="rlsd", **kw), benchmark_row(prompt_style="native", **kw)
    for row in (paper, plain):
        assert row["prompt"][0]["content"].startswith(kw["question"]) and row["extra_info"]["index"] == 0
        assert row["extra_info"]["gold_answers"] == ["B"] and row["extra_info"]["source_dataset"] == "src/x"
    assert paper["prompt"][0]["content"] != plain["prompt"][0]["content"]
