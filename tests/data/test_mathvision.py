"""MathVision builder: hub parquet and GitHub jsonl layouts, composite image, gold repair, counts."""

from __future__ import annotations

import json
import os

import datasets
import pytest
import fixtures as fx
from fixtures import colour_of

from rlsd_verl.data import mathvision
from rlsd_verl.data.build import BadRowError, CountMismatchError, Expected
from rlsd_verl.data.images import BadImageError


def build(inp, out, **kw):
    return fx.run_build(mathvision.build_mathvision, inp, out, **kw)


def check_rows(rows):
    r = rows["1"]  # letter-only options: contents are in the image
    assert r["extra_info"]["question"] == "<image>\n<image1>\nWhich figure has the largest area?\nChoices: A, B, C, D, E"
    assert r["extra_info"]["options"] == ["A", "B", "C", "D", "E"]
    assert r["reward_model"]["ground_truth"] == "D" and r["extra_info"]["question_type"] == "multiple_choice"
    assert len(r["images"]) == 1 and r["images"][0].mode == "RGB"
    r = rows["2"]  # panel references stay text; $...$ stripped, original kept
    assert r["extra_info"]["question"] == "<image>\nFind the ratio in <image1>; panel <image2> shows the detail."
    assert r["prompt"][0]["content"].count("<image>") == 1 == len(r["images"])
    assert r["reward_model"]["ground_truth"] == "\\frac{\\sqrt{6}}{6}"
    assert r["extra_info"]["gold_answers"] == ["\\frac{\\sqrt{6}}{6}", "$\\frac{\\sqrt{6}}{6}$"]
    assert r["extra_info"]["reference_solution"] == "Use similar triangles." and r["extra_info"]["level"] == 4
    assert colour_of(r["images"][0]) == (10, 200, 10)  # RGBA source converted
    r = rows["2830"]  # form-feed-corrupted gold repaired
    assert r["reward_model"]["ground_truth"] == "\\frac{36}{13}" and "\x0c" not in r["extra_info"]["answer"]
    assert r["extra_info"]["subject"] == "algebra" and r["extra_info"]["reference_solution"] == ""
    r = rows["5"]  # image-reference options stay text
    assert r["extra_info"]["question"].endswith("Options:\nA. <image2>\nB. <image3>\nC. <image4>\nD. <image5>\nE. <image6>")
    assert r["data_source"] == "MathLLMs/MathVision"


def test_hub_layout(tmp_path):
    fx.write_mathvision_hub(tmp_path / "in", "testmini")
    fx.write_hub_parquet(tmp_path / "in" / "data" / "test-00000-of-00001-zzz.parquet", fx.mathvision_rows()[:1],
                         fx.MATHVISION_FEATURES)
    s = build(tmp_path / "in", tmp_path / "out", split="testmini")  # must not pick up test-*.parquet
    assert (s["rows"], s["multiple_choice"], s["free_form"], s["images"]) == (4, 2, 2, 4)
    assert s["notes"]["repaired_gold_escapes"] == 1 and s["notes"]["letter_only_options"] == 1
    check_rows(fx.rows_by_id(tmp_path / "out" / "mathvision_testmini.parquet"))
    assert build(tmp_path / "in", tmp_path / "out", split="test")["rows"] == 1


def test_github_jsonl_layout(tmp_path):
    fx.write_mathvision_github(tmp_path / "gh", "test")
    s = build(tmp_path / "gh", tmp_path / "out", split="test")
    assert s["input"] == "json: data/test.jsonl" and s["rows"] == 4
    check_rows(fx.rows_by_id(tmp_path / "out" / "mathvision_test.parquet"))
    # the jsonl file given directly works too, and a missing image file is a loud error
    os.remove(tmp_path / "gh" / "data" / "images" / "5.jpg")
    with pytest.raises(BadImageError, match=r"id=5\), column image: image file not found"):
        build(tmp_path / "gh" / "data" / "test.jsonl", tmp_path / "out2", split="test")


def test_save_to_disk_layout(tmp_path):
    ds = datasets.Dataset.from_list(fx.mathvision_rows(), features=fx.MATHVISION_FEATURES)
    datasets.DatasetDict({"testmini": ds}).save_to_disk(str(tmp_path / "disk"))
    build(tmp_path / "disk", tmp_path / "out", split="testmini")
    check_rows(fx.rows_by_id(tmp_path / "out" / "mathvision_testmini.parquet"))


def test_counts(tmp_path, monkeypatch):
    assert mathvision.EXPECTED["test"] == Expected(3040, multiple_choice=1532, free_form=1508)
    assert mathvision.EXPECTED["testmini"] == Expected(304, multiple_choice=190, free_form=114)
    fx.write_mathvision_hub(tmp_path / "in", "testmini")
    with pytest.raises(CountMismatchError, match="4 rows, expected 304"):
        build(tmp_path / "in", tmp_path / "out", split="testmini", allow_count_mismatch=False)
    assert not (tmp_path / "out" / "mathvision_testmini.parquet").exists()
    monkeypatch.setitem(mathvision.EXPECTED, "testmini", Expected(4, multiple_choice=2, free_form=2))
    s = build(tmp_path / "in", tmp_path / "out", split="testmini", allow_count_mismatch=False)
    assert s["count_check"] == "passed"
    assert json.load(open(tmp_path / "out" / "mathvision_testmini.summary.json"))["count_check"] == "passed"


def test_bad_gold_letter_and_skip(tmp_path):
    rows = fx.mathvision_rows()
    rows[0]["answer"] = "F"
    rows[3]["decoded_image"] = fx.corrupt()
    fx.write_hub_parquet(tmp_path / "in" / "data" / "testmini-00000-of-00001.parquet", rows, fx.MATHVISION_FEATURES)
    with pytest.raises(BadRowError, match=r"id=1\): column answer 'F' is not one of the option letters"):
        build(tmp_path / "in", tmp_path / "out", split="testmini")
    s = build(tmp_path / "in", tmp_path / "out", split="testmini", skip_bad=True)
    assert s["rows"] == 2 and s["skipped_bad"] == {"bad_row": 1, "bad_image": 1}
