"""MathVista, We-Math, ZeroBench (main + sub-questions) and geometry3k builders."""

from __future__ import annotations

import json

import pytest
import fixtures as fx
from fixtures import COLOURS, colour_of

from rlsd_verl.data import geometry3k, mathvista, wemath, zerobench
from rlsd_verl.data.build import BadRowError, CountMismatchError
from rlsd_verl.data.schema import load_parquet
from rlsd_verl.data.sources import InputError

Q = dict(progress=False)


# ------------------------------------------------------------------------------------ MathVista
def test_mathvista(tmp_path):
    fx.write_hub_parquet(tmp_path / "in/data/testmini-00000-of-00001-abc.parquet", fx.mathvista_rows(),
                         fx.MATHVISTA_FEATURES)
    s = mathvista.build_mathvista(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"),
                                  allow_count_mismatch=True, **Q)
    assert (s["rows"], s["multiple_choice"], s["free_form"]) == (3, 1, 2)
    rows = fx.rows_by_id(tmp_path / "out/mathvista_testmini.parquet")
    r = rows["2"]  # gold is the choice text -> its letter
    assert r["reward_model"]["ground_truth"] == "B" and r["extra_info"]["options"] == ["circle", "square", "triangle"]
    assert r["extra_info"]["question"] == "<image>\nWhich shape is red?\nOptions:\nA. circle\nB. square\nC. triangle"
    assert r["extra_info"]["subject"] == "textbook question answering" and r["extra_info"]["source_dataset"] == "TQA"
    assert rows["1"]["extra_info"]["question"] == "<image>\nWhat is the value of the largest bar?\nAnswer with an integer."
    assert rows["3"]["extra_info"]["question"] == (
        "<image>\nHow long is the segment? (Unit: cm)\nAnswer with a number rounded to two decimal places.")
    assert rows["3"]["reward_model"]["ground_truth"] == "1.25" and rows["3"]["data_source"] == "AI4Math/MathVista"
    assert colour_of(rows["1"]["images"][0]) == COLOURS[1]
    assert mathvista.EXPECTED["testmini"].total == 1000


def test_mathvista_json_layout_and_bad_gold(tmp_path):
    rows = fx.mathvista_rows()
    (tmp_path / "in/images").mkdir(parents=True)
    (tmp_path / "in/data").mkdir(parents=True)
    records = {}
    for r in rows:
        (tmp_path / "in" / r["image"]).write_bytes(r["decoded_image"]["bytes"])
        records[r["pid"]] = {k: v for k, v in r.items() if k != "decoded_image"}
    # the GitHub release: data/testmini.json is a dict {pid: record}; images/ sits at the root
    (tmp_path / "in/data/testmini.json").write_text(json.dumps(records))
    (tmp_path / "in/data/annot_testmini.json").write_text(json.dumps({"1": {"ocr": "..."}}))
    s = mathvista.build_mathvista(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"),
                                  allow_count_mismatch=True, **Q)
    assert s["rows"] == 3 and s["input"] == "json: data/testmini.json"
    with pytest.raises(InputError, match="annotation file"):
        mathvista.build_mathvista(input=str(tmp_path / "in/data/annot_testmini.json"),
                                  output_dir=str(tmp_path / "o"), **Q)
    rows[1]["answer"] = "hexagon"
    fx.write_hub_parquet(tmp_path / "bad/data/testmini-0.parquet", rows, fx.MATHVISTA_FEATURES)
    with pytest.raises(BadRowError, match=r"id=2\): answer 'hexagon' matches none of the choices"):
        mathvista.build_mathvista(input=str(tmp_path / "bad"), output_dir=str(tmp_path / "o"), **Q)
    with pytest.raises(ValueError, match="no public answers"):
        mathvista.build_mathvista(input=str(tmp_path / "bad"), split="test", output_dir=str(tmp_path / "o"), **Q)


def test_mathvista_duplicate_choices_make_every_matching_letter_a_gold(tmp_path):
    rows = fx.mathvista_rows()
    # the real pid 781: choices ['9', '12', '18', '18'], answer '18'
    rows[1].update(choices=["9", "12", "18", "18"], answer="18")
    fx.write_hub_parquet(tmp_path / "in/data/testmini-0.parquet", rows, fx.MATHVISTA_FEATURES)
    s = mathvista.build_mathvista(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"),
                                  allow_count_mismatch=True, **Q)
    assert s["rows"] == 3 and s["notes"]["duplicate_choice_gold"] == 1
    r = fx.rows_by_id(tmp_path / "out/mathvista_testmini.parquet")["2"]
    assert r["reward_model"]["ground_truth"] == "C" and r["extra_info"]["gold_answers"] == ["C", "D"]
    from rlsd_verl.rewards import compute_score

    for letter in "CD":
        assert compute_score(r["data_source"], f"<answer>{letter}</answer>", r["reward_model"]["ground_truth"],
                             r["extra_info"], format_weight=0.0)["acc"] == 1.0
    assert compute_score(r["data_source"], "<answer>B</answer>", "C", r["extra_info"], format_weight=0.0)["acc"] == 0.0


# ------------------------------------------------------------------------------------ We-Math
def test_wemath(tmp_path):
    fx.write_hub_parquet(tmp_path / "in/data/testmini-00000-of-00001.parquet", fx.wemath_rows(), fx.WEMATH_FEATURES)
    with pytest.raises(CountMismatchError, match="expected 1740"):
        wemath.build_wemath(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"), **Q)
    s = wemath.build_wemath(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"), limit=10, **Q)
    assert (s["rows"], s["multiple_choice"]) == (2, 2)
    rows = fx.rows_by_id(tmp_path / "out/wemath_testmini.parquet")
    assert set(rows) == {"3steps_165/3steps_3", "3steps_165/3steps_1"}  # ID repeats across steps
    r = rows["3steps_165/3steps_3"]
    assert r["extra_info"]["options"] == ["200.96", "3215.36", "6280", "32", "No correct answer"]
    assert r["reward_model"]["ground_truth"] == "B" and r["extra_info"]["subfield"] == "3steps_3"
    assert r["extra_info"]["subject"] == "Area of Circles" and r["data_source"] == "We-Math/We-Math"
    assert r["extra_info"]["question"].startswith("<image>\nWhat is the area") and "E. No correct answer" in \
        r["extra_info"]["question"]


def test_wemath_json_release_with_image_folder(tmp_path):
    rows = fx.wemath_rows()
    recs = []
    for i, r in enumerate(rows):
        rel = f"3steps/image/165-{i}.png"
        (tmp_path / "in/images/3steps/image").mkdir(parents=True, exist_ok=True)
        (tmp_path / "in/images" / rel).write_bytes(r["image_path"]["bytes"])
        recs.append({**{k: v for k, v in r.items() if k != "image_path"}, "image_path": rel})
    (tmp_path / "in/testmini.json").write_text(json.dumps(recs))
    s = wemath.build_wemath(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"),
                            allow_count_mismatch=True, **Q)
    assert s["rows"] == 2
    assert colour_of(fx.rows_by_id(tmp_path / "out/wemath_testmini.parquet")["3steps_165/3steps_1"]["images"][0]) == COLOURS[2]


def test_wemath_bad_rows_are_all_reported_and_skip_bad_writes_the_rest(tmp_path):
    rows = fx.wemath_rows()
    rows[0]["option"] = "A. 1;C. 3"
    rows[1]["answer"] = "Z"
    rows.append(dict(rows[1], key="3steps_2", answer="A"))
    fx.write_hub_parquet(tmp_path / "in/data/testmini-0.parquet", rows, fx.WEMATH_FEATURES)
    with pytest.raises(BadRowError, match=r"2 row\(s\)") as e:
        wemath.build_wemath(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"), **Q)
    # one odd row does not stop the scan: both are named, with their reasons
    assert "id=3steps_165), column option: cannot read lettered options" in str(e.value)
    assert "column answer 'Z' is not one of the option letters" in str(e.value)
    assert not (tmp_path / "out/wemath_testmini.parquet").exists()
    s = wemath.build_wemath(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"), skip_bad=True,
                            allow_count_mismatch=True, **Q)
    assert s["rows"] == 1 and s["skipped_bad_total"] == 2
    problems = [json.loads(line) for line in open(s["problems_path"])]
    assert [(p["id"], p["reason"]) for p in problems] == [("3steps_165", "bad_row"), ("3steps_165", "bad_row")]
    assert "row 0" in problems[0]["where"] and "row 1" in problems[1]["where"]


def test_wemath_real_option_quirks_convert(tmp_path):
    base = fx.wemath_rows()[1]
    quirks = [
        ("A. Turn about point ;O.;B. Slide along ;L.;C. No.; F. No correct answer", "F", "D"),
        ("A. 45° B. 60° ;C. 120°; D. No correct answer", "B", "B"),
        ("A. F;    B. D;    C. B;    D. I; E. No correct answer", "C", "C"),  # letter-valued options
        ("A. Equal; B. Twice ;G.; C. Twice ;G.; D. No correct answer", "A", "A"),  # repeated option texts
    ]
    rows = [dict(base, key=f"k{i}", option=o, answer=a) for i, (o, a, _) in enumerate(quirks)]
    fx.write_hub_parquet(tmp_path / "in/data/testmini-0.parquet", rows, fx.WEMATH_FEATURES)
    s = wemath.build_wemath(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"),
                            allow_count_mismatch=True, **Q)
    assert s["rows"] == 4 and s["skipped_bad_total"] == 0 and s["problems_path"] is None
    assert s["notes"]["letter_valued_options"] == 1 and s["notes"]["duplicate_option_texts"] == 1
    got = fx.rows_by_id(tmp_path / "out/wemath_testmini.parquet")
    assert got["3steps_165/k0"]["extra_info"]["options"] == ["Turn about point O.", "Slide along L.", "No.",
                                                             "No correct answer"]
    assert [got[f"3steps_165/k{i}"]["reward_model"]["ground_truth"] for i in range(4)] == [q[2] for q in quirks]


# ------------------------------------------------------------------------------------ ZeroBench
def test_zerobench_main_and_sub(tmp_path):
    fx.write_hub_parquet(tmp_path / "in/data/zerobench-00000-of-00001.parquet", fx.zerobench_rows(),
                         fx.ZEROBENCH_FEATURES)
    fx.write_hub_parquet(tmp_path / "in/data/zerobench_subquestions-00000-of-00001.parquet",
                         fx.zerobench_rows(sub=True), fx.ZEROBENCH_FEATURES)
    main = zerobench.build_zerobench(input=str(tmp_path / "in"), split="main", output_dir=str(tmp_path / "out"),
                                     allow_count_mismatch=True, **Q)
    sub = zerobench.build_zerobench(input=str(tmp_path / "in"), split="sub", output_dir=str(tmp_path / "out"),
                                    allow_count_mismatch=True, prompt_style="native", **Q)
    assert (main["rows"], sub["rows"], sub["images"]) == (1, 2, 3)  # main must not read the sub file
    rows = fx.rows_by_id(tmp_path / "out/zerobench_zerobench_subquestions.parquet")
    r = rows["1_2"]
    assert r["extra_info"]["question"] == "<image>\n<image>\nCompare both images: which has more blue?"
    assert [colour_of(im) for im in r["images"]] == [COLOURS[3], COLOURS[2]]
    assert r["prompt"][0]["content"].endswith("Answer with only the final answer.")
    assert r["data_source"] == "jonathan-roberts1/zerobench_subquestions"
    assert load_parquet(tmp_path / "out/zerobench_zerobench.parquet")[0]["data_source"] == "jonathan-roberts1/zerobench"
    assert (zerobench.EXPECTED["zerobench"].total, zerobench.EXPECTED["zerobench_subquestions"].total) == (100, 334)


# ------------------------------------------------------------------------------------ geometry3k
def test_geometry3k(tmp_path):
    rows = fx.geo3k_rows() + [dict(images=[fx.img(3)], problem="Find y.", answer="5")]
    fx.write_hub_parquet(tmp_path / "in/data/train-00000-of-00001.parquet", rows, fx.GEO3K_FEATURES)
    s = geometry3k.build_geometry3k(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"),
                                    allow_count_mismatch=True, prompt_style="geo3k", **Q)
    assert s["rows"] == 3 and s["notes"] == {"image_token_prepended": 1}
    out = load_parquet(tmp_path / "out/geometry3k_train.parquet")
    assert out[0]["extra_info"]["question"] == "<image>Find x." and out[0]["data_source"] == "hiyouga/geometry3k"
    assert "<think>" in out[0]["prompt"][0]["content"] and out[1]["reward_model"]["ground_truth"] == "12\\sqrt{3}"
    assert [r["extra_info"]["id"] for r in out] == ["geometry3k-train-0", "geometry3k-train-1", "geometry3k-train-2"]
    bad = [dict(images=[fx.img(1)], problem="<image><image>Two tokens.", answer="1")]
    fx.write_hub_parquet(tmp_path / "bad/data/train-0.parquet", bad, fx.GEO3K_FEATURES)
    with pytest.raises(BadRowError, match="2 '<image>' tokens but 1 images"):
        geometry3k.build_geometry3k(input=str(tmp_path / "bad"), output_dir=str(tmp_path / "o"), **Q)
