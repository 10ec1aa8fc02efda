"""MMFineReason-123K training prep: rule-verifiable filter, drop reasons, trace, val split, JSONL input."""

from __future__ import annotations

import json

import pytest
import fixtures as fx

from rlsd_verl.data import mmfinereason
from rlsd_verl.data.images import BadImageError
from rlsd_verl.data.schema import load_parquet

Q = dict(progress=False)


def write_shards(root, rows):
    half = len(rows) // 2
    fx.write_hub_parquet(root / "data/train-00000-of-00002.parquet", rows[:half], fx.MMFINEREASON_FEATURES)
    fx.write_hub_parquet(root / "data/train-00001-of-00002.parquet", rows[half:], fx.MMFINEREASON_FEATURES)
    return str(root)


def test_filter_and_drop_reasons(tmp_path):
    s = mmfinereason.build_mmfinereason(input=write_shards(tmp_path / "in", fx.mmfinereason_rows()),
                                        output_dir=str(tmp_path / "out"), **Q)
    assert s["source_rows_read"] == 7 and s["rows"] == 5
    assert s["dropped"] == {"answer_not_rule_verifiable": 1, "image_token_mismatch": 1}
    assert s["dropped_examples"] == {"answer_not_rule_verifiable": ["mmfr-3"], "image_token_mismatch": ["mmfr-4"]}
    assert s["rows"] + s["dropped_total"] == s["source_rows_read"]  # nothing vanishes silently
    rows = fx.rows_by_id(tmp_path / "out/mmfinereason_train.parquet")
    # the id is <source>/<id>: the release's ids restart in every source subset
    assert set(rows) == {"MMR1/mmfr-0", "MMK12/mmfr-1", "BMMR/mmfr-2", "GameQA-140K/mmfr-5", "FineVision-raven/mmfr-6"}
    r = rows["MMR1/mmfr-0"]  # letter gold + option lines in the question -> multiple choice
    assert r["extra_info"]["question_type"] == "multiple_choice" and r["extra_info"]["options"] == ["1", "2", "3", "4"]
    assert r["extra_info"]["question"] == "<image>\nWhich option is correct?\nA. 1\nB. 2\nC. 3\nD. 4"
    assert r["extra_info"]["reference_solution"] == "<think>reasoning 0</think>\nThe answer is B."
    assert r["extra_info"]["source_dataset"] == "MMR1" and r["extra_info"]["split"] == "train"
    assert r["data_source"] == mmfinereason.DATA_SOURCE
    r = rows["FineVision-raven/mmfr-6"]  # letter gold, choices only in the image -> free form
    assert r["extra_info"]["question_type"] == "free_form" and r["reward_model"]["ground_truth"] == "C"
    assert rows["MMK12/mmfr-1"]["reward_model"]["ground_truth"] == "\\frac{3}{2}"
    assert s["notes"]["gold_kind_letter"] == 2 and s["notes"]["letter_gold_without_options"] == 1


def test_val_split_is_deterministic_and_disjoint(tmp_path):
    rows = []
    for i in range(40):
        r = fx.mmfinereason_rows()[5]
        rows.append({**r, "id": f"row-{i}", "answer": str(i)})
    inp = write_shards(tmp_path / "in", rows)
    s1 = mmfinereason.build_mmfinereason(input=inp, output_dir=str(tmp_path / "a"), val_fraction=0.25, **Q)
    s2 = mmfinereason.build_mmfinereason(input=inp, output_dir=str(tmp_path / "b"), val_fraction=0.25, **Q)
    assert s1["rows_per_output"] == s2["rows_per_output"]
    assert s1["rows_per_output"]["train"] + s1["rows_per_output"]["val"] == 40
    assert 0 < s1["rows_per_output"]["val"] < 20
    train = fx.rows_by_id(tmp_path / "a/mmfinereason_train.parquet")
    val = fx.rows_by_id(tmp_path / "a/mmfinereason_val.parquet")
    assert not set(train) & set(val)
    ids = [f"GameQA-140K/row-{i}" for i in range(40)]
    assert set(val) == {i for i in ids if mmfinereason.val_bucket(i, 0.25)}
    assert all(r["extra_info"]["split"] == "val" for r in val.values())
    assert sorted(r["extra_info"]["index"] for r in val.values()) == list(range(len(val)))


def test_trace_truncation_and_inconsistent_rows(tmp_path):
    rows = fx.mmfinereason_rows()
    rows[1]["is_consistent"] = False
    inp = write_shards(tmp_path / "in", rows)
    s = mmfinereason.build_mmfinereason(input=inp, output_dir=str(tmp_path / "out"), drop_inconsistent=True,
                                        max_solution_chars=10, **Q)
    assert s["dropped"]["inconsistent_trace"] == 1
    assert all(len(r["extra_info"]["reference_solution"]) <= 10
               for r in load_parquet(tmp_path / "out/mmfinereason_train.parquet"))


def test_corrupt_image_is_an_error_unless_skip_bad(tmp_path):
    rows = fx.mmfinereason_rows()
    rows[2]["image"] = fx.corrupt()
    inp = write_shards(tmp_path / "in", rows)
    with pytest.raises(BadImageError, match=r"id=mmfr-2\), column image\[0\]: cannot decode"):
        mmfinereason.build_mmfinereason(input=inp, output_dir=str(tmp_path / "out"), **Q)
    assert not (tmp_path / "out/mmfinereason_train.parquet").exists()
    s = mmfinereason.build_mmfinereason(input=inp, output_dir=str(tmp_path / "out"), skip_bad=True, **Q)
    assert s["rows"] == 4 and s["skipped_bad"] == {"bad_image": 1}


def test_rlsd_jsonl_layout(tmp_path):
    (tmp_path / "in/img").mkdir(parents=True)
    (tmp_path / "in/img/a.png").write_bytes(fx.png((1, 1, 1)))
    recs = [
        {"problem": "<image>Pick the larger value.", "answer": "B", "problem_type": "multiple choice",
         "options": ["A. 3", "B. 7"], "images": ["img/a.png"], "data_type": "image"},
        {"problem": "<image>How many sides?", "answer": "6", "problem_type": "numerical", "images": ["img/a.png"]},
        {"problem": "What is 2+2?", "answer": "4", "problem_type": "math", "images": []},
    ]
    (tmp_path / "in/train.jsonl").write_text("\n".join(json.dumps(r) for r in recs))
    s = mmfinereason.build_mmfinereason(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"), **Q)
    assert s["rows"] == 2 and s["dropped"] == {"no_image": 1}
    out = load_parquet(tmp_path / "out/mmfinereason_train.parquet")
    assert out[0]["extra_info"]["question"] == "<image>Pick the larger value.\nOptions:\nA. 3\nB. 7"
    assert out[0]["extra_info"]["options"] == ["3", "7"] and out[0]["reward_model"]["ground_truth"] == "B"
    assert out[1]["extra_info"]["id"] == "mmfinereason-1"


def test_real_quirks_per_subset_ids_inline_options_content_and_multi_part_golds(tmp_path):
    base = fx.mmfinereason_rows()[0]
    rows = [
        # ids restart per source subset: the same id 8 in two subsets
        dict(base, id=8, source="FineVision-ai2d_merged", question="<image>Which? A. 1\nB. 2", answer="B"),
        dict(base, id=8, source="FineVision-geo170k(qa)", question="<image>Find x.\nA. 1\nB. 2\nC. 3", answer="C"),
        # options inline in the question, the gold is an option's content
        dict(base, id=9, source="S", question="<image>Find the area. Choices: A.256; B.512; C.944", answer="944"),
        # option lines with a content gold
        dict(base, id=10, source="S", question="<image>Gas given out?\nA. Oxygen\nB. Carbon dioxide",
             answer="Carbon dioxide"),
        # a multi-part gold: answers to two sub-questions
        dict(base, id=11, source="S", question="<image>(1) How many? (2) Ratio?", answer="2     4:1"),
    ]
    inp = write_shards(tmp_path / "in", rows)
    s = mmfinereason.build_mmfinereason(input=inp, output_dir=str(tmp_path / "out"), **Q)
    assert s["rows"] == 4 and s["dropped"] == {"multi_part_gold": 1} and s["skipped_bad_total"] == 0
    problems = [json.loads(line) for line in open(s["problems_path"])]
    assert [(p["id"], p["kind"], p["reason"]) for p in problems] == [("11", "dropped", "multi_part_gold")]
    assert "4:1" in problems[0]["message"]
    got = fx.rows_by_id(tmp_path / "out/mmfinereason_train.parquet")
    assert set(got) == {"FineVision-ai2d_merged/8", "FineVision-geo170k(qa)/8", "S/9", "S/10"}
    r = got["S/9"]
    assert r["extra_info"]["question_type"] == "multiple_choice" and r["extra_info"]["options"] == ["256", "512", "944"]
    assert r["reward_model"]["ground_truth"] == "C" and r["extra_info"]["gold_answers"] == ["C", "944"]
    assert got["S/10"]["reward_model"]["ground_truth"] == "B"
    assert s["notes"]["inline_options"] == 1 and s["notes"]["content_gold_to_letter"] == 2
    from rlsd_verl.rewards import compute_score

    def acc(row, text):
        return compute_score(row["data_source"], text, row["reward_model"]["ground_truth"], row["extra_info"],
                             format_weight=0.0)["acc"]

    assert acc(r, "<answer>C</answer>") == 1.0 and acc(r, "<answer>944</answer>") == 1.0
    assert acc(r, "<answer>A</answer>") == 0.0
