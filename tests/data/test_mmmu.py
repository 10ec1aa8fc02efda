"""MMMU builder: every input layout and every quirk of data.md §1 / §7.2, loud failures, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import datasets
import pytest
import fixtures as fx
from fixtures import COLOURS, colour_of

from rlsd_verl.data import mmmu
from rlsd_verl.data.build import BadRowError, CountMismatchError, Expected
from rlsd_verl.data.images import BadImageError
from rlsd_verl.data.schema import FEATURES, check_parquet, load_parquet
from rlsd_verl.data.sources import InputError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build(inp, out, **kw):
    return fx.run_build(mmmu.build_mmmu, inp, out, **kw)


def test_hub_layout_sharded_quirks(tmp_path):
    fx.write_mmmu_hub(tmp_path / "in", shards=2)
    s = build(tmp_path / "in", tmp_path / "out")
    out = tmp_path / "out" / "mmmu_validation.parquet"
    assert s["outputs"] == {"validation": str(out)}
    assert (s["rows"], s["multiple_choice"], s["free_form"]) == (5, 2, 3)
    assert s["images"] == 5 + 1 + 1 + 1 + 2
    assert s["source_rows_read"] == 5 and s["dropped_total"] == 0 and s["skipped_bad_total"] == 0
    assert s["notes"]["repeated_placeholder"] == 1 and s["notes"]["list_gold"] == 1
    assert s["notes"]["no_placeholder_image_prepended"] == 1 and s["notes"]["open_question_letter_gold"] == 1
    assert json.load(open(tmp_path / "out" / "mmmu_validation.summary.json"))["rows"] == 5
    assert check_parquet(out)["rows"] == 5

    rows = fx.rows_by_id(out)
    assert [r["extra_info"]["index"] for r in load_parquet(out)] == list(range(5))
    # question placeholders then option placeholders, textual order, repeats repeated
    r = rows["validation_Accounting_1"]
    assert [colour_of(im) for im in r["images"]] == [COLOURS[n] for n in (3, 1, 1, 2, 4)]
    q = r["extra_info"]["question"]
    assert q == ("Which chart <image> matches <image>? Compare <image> again.\n"
                 "Options:\nA. <image>\nB. <image>\nC. None of them")
    assert r["prompt"][0]["content"].startswith(q + "\n\n") and "<thought>" in r["prompt"][0]["content"]
    assert r["extra_info"]["options"] == ["<image 2>", "<image 4>", "None of them"]
    assert r["reward_model"]["ground_truth"] == "B" and r["extra_info"]["question_type"] == "multiple_choice"
    assert r["extra_info"]["subject"] == "Accounting" and r["extra_info"]["reference_solution"] == "Because."
    assert r["extra_info"]["difficulty"] == "Easy" and r["extra_info"]["level"] == -1
    assert r["data_source"] == "MMMU/MMMU"
    # no placeholder: one <image> prepended for image_1
    r = rows["validation_Accounting_2"]
    assert r["extra_info"]["question"] == "<image>\nCompute the ratio shown."
    assert r["extra_info"]["gold_answers"] == ["24/7", "3.429"] and r["reward_model"]["ground_truth"] == "24/7"
    assert r["extra_info"]["question_type"] == "free_form" and r["extra_info"]["options"] == []
    # options from the stringified list (quotes inside options)
    assert rows["validation_Accounting_3"]["extra_info"]["options"] == ["$6", "$7's", "$8", "$9"]
    assert "C. $8" in rows["validation_Accounting_3"]["extra_info"]["question"]
    # open question with a letter gold stays free form; subject with underscore
    r = rows["validation_Art_Theory_1"]
    assert r["extra_info"]["question_type"] == "free_form" and r["reward_model"]["ground_truth"] == "C"
    assert r["extra_info"]["subject"] == "Art_Theory"
    assert [colour_of(im) for im in rows["validation_Art_Theory_2"]["images"]] == [COLOURS[2], COLOURS[1]]


def test_merged_mirror_layout(tmp_path):
    rows = fx.mmmu_accounting_rows() + fx.mmmu_art_rows()
    fx.write_hub_parquet(tmp_path / "in" / "data" / "validation-00000-of-00001.parquet", rows, fx.MMMU_FEATURES)
    fx.write_hub_parquet(tmp_path / "in" / "data" / "dev-00000-of-00001.parquet", fx.mmmu_art_rows("dev"),
                         fx.MMMU_FEATURES)
    s = build(tmp_path / "in", tmp_path / "out", subjects=["Art_Theory"])
    assert s["rows"] == 2 and s["not_selected"] == 3 and s["count_check"].startswith("skipped")
    s = build(tmp_path / "in", tmp_path / "out", split="dev")
    assert s["rows"] == 2 and set(fx.rows_by_id(tmp_path / "out" / "mmmu_dev.parquet")) == {
        "dev_Art_Theory_1", "dev_Art_Theory_2"}


def test_single_file_and_wrong_split_ids(tmp_path):
    f = fx.write_hub_parquet(tmp_path / "acc.parquet", fx.mmmu_accounting_rows(), fx.MMMU_FEATURES)
    assert build(f, tmp_path / "out")["rows"] == 3
    with pytest.raises(BadRowError, match="does not belong to split 'test'"):
        build(f, tmp_path / "out2", split="test")
    assert not (tmp_path / "out2" / "mmmu_test.parquet").exists()


def test_save_to_disk_layouts(tmp_path):
    # one merged DatasetDict
    ds = datasets.Dataset.from_list(fx.mmmu_accounting_rows() + fx.mmmu_art_rows(), features=fx.MMMU_FEATURES)
    datasets.DatasetDict({"validation": ds}).save_to_disk(str(tmp_path / "merged"))
    s = build(tmp_path / "merged", tmp_path / "o1")
    assert s["rows"] == 5 and s["input"].startswith("disk")
    # one DatasetDict per subject
    for name, rows in (("Accounting", fx.mmmu_accounting_rows()), ("Art_Theory", fx.mmmu_art_rows())):
        sub = datasets.Dataset.from_list(rows, features=fx.MMMU_FEATURES)
        datasets.DatasetDict({"validation": sub, "dev": sub.select([0])}).save_to_disk(str(tmp_path / "per" / name))
    s2 = build(tmp_path / "per", tmp_path / "o2")
    assert s2["rows"] == 5
    a, b = load_parquet(tmp_path / "o1" / "mmmu_validation.parquet"), load_parquet(
        tmp_path / "o2" / "mmmu_validation.parquet")
    assert a["prompt"] == b["prompt"] and a["extra_info"] == b["extra_info"]
    with pytest.raises(InputError, match="split 'test' not in the saved DatasetDict"):
        build(tmp_path / "merged", tmp_path / "o3", split="test")


def test_hf_cache_snapshot_folder(tmp_path):
    snap = tmp_path / "datasets--MMMU--MMMU" / "snapshots" / "abc123"
    fx.write_mmmu_hub(snap)
    assert build(tmp_path / "datasets--MMMU--MMMU", tmp_path / "out")["rows"] == 5


def test_known_counts_are_enforced(tmp_path, monkeypatch):
    assert mmmu.EXPECTED["validation"] == Expected(900, multiple_choice=847, free_form=53)
    assert (mmmu.EXPECTED["dev"].total, mmmu.EXPECTED["test"].total) == (150, 10500)
    fx.write_mmmu_hub(tmp_path / "in")
    out = tmp_path / "out"
    with pytest.raises(CountMismatchError, match="5 rows, expected 900") as e:
        build(tmp_path / "in", out, allow_count_mismatch=False)
    assert "Nothing was written" in str(e.value)
    assert not out.exists() or os.listdir(out) == []
    # the same full split passes when the known counts match ...
    monkeypatch.setitem(mmmu.EXPECTED, "validation", Expected(5, multiple_choice=2, free_form=3))
    assert build(tmp_path / "in", out, allow_count_mismatch=False)["count_check"] == "passed"
    # ... and a wrong MC / open split is caught even when the total matches
    monkeypatch.setitem(mmmu.EXPECTED, "validation", Expected(5, multiple_choice=3, free_form=2))
    with pytest.raises(CountMismatchError, match="2 multiple-choice, expected 3"):
        build(tmp_path / "in", tmp_path / "out2", allow_count_mismatch=False)
    # --limit is a subset: no check
    s = build(tmp_path / "in", tmp_path / "out3", allow_count_mismatch=False, limit=2)
    assert s["rows"] == 2 and s["stopped_at_limit"] and s["count_check"].startswith("skipped")


def _write_one(tmp_path, row):
    fx.write_hub_parquet(tmp_path / "in" / "Math" / "validation-00000-of-00001.parquet", [row], fx.MMMU_FEATURES)
    return tmp_path / "in"


@pytest.mark.parametrize(
    "row, error, message",
    [
        (fx.mmmu_row("validation_Math_1", "See <image 2>.", images=(1,)), BadRowError,
         "placeholder '<image 2>' refers to column image_2"),
        (fx.mmmu_row("validation_Math_1", "Q <image 1>", options="['a', 'b'", images=(1,)), BadRowError,
         "column options"),
        (fx.mmmu_row("validation_Math_1", "Q <image 1>", options="['a', 'b']", answer="C", images=(1,)),
         BadRowError, "not one of the option letters ['A', 'B']"),
        (fx.mmmu_row("validation_Math_1", "Q <image 1>", options="[]", answer="A", images=(1,)), BadRowError,
         "empty options"),
        (fx.mmmu_row("validation_Math_1", "Q <image 1>", qtype="short-answer", images=(1,)), BadRowError,
         "column question_type"),
        (fx.mmmu_row("validation_Math_1", "Q <image 1>", options="['a', 'b']", image_1=fx.corrupt()),
         BadImageError, "column image_1: cannot decode"),
    ],
)
def test_bad_rows_fail_loudly_naming_the_row(tmp_path, row, error, message):
    inp = _write_one(tmp_path, row)
    with pytest.raises(error) as e:
        build(inp, tmp_path / "out")
    assert message in str(e.value) and "validation_Math_1" in str(e.value)
    assert not (tmp_path / "out" / "mmmu_validation.parquet").exists()


def test_skip_bad_counts_and_continues(tmp_path):
    rows = fx.mmmu_accounting_rows()
    rows[1]["image_1"] = fx.corrupt()
    rows[2]["options"] = "not a list"
    fx.write_hub_parquet(tmp_path / "in" / "Accounting" / "validation-00000-of-00001.parquet", rows,
                         fx.MMMU_FEATURES)
    s = build(tmp_path / "in", tmp_path / "out", skip_bad=True)
    assert s["rows"] == 1 and s["skipped_bad"] == {"bad_image": 1, "bad_row": 1} and s["skipped_bad_total"] == 2
    assert "validation_Accounting_2" in s["skipped_bad_examples"]["bad_image"][0]
    assert list(fx.rows_by_id(tmp_path / "out" / "mmmu_validation.parquet")) == ["validation_Accounting_1"]


def test_duplicate_ids_are_an_error(tmp_path):
    rows = fx.mmmu_accounting_rows()
    rows[1]["id"] = rows[0]["id"]
    fx.write_hub_parquet(tmp_path / "in" / "Accounting" / "validation-00000-of-00001.parquet", rows,
                         fx.MMMU_FEATURES)
    with pytest.raises(BadRowError, match="duplicate id 'validation_Accounting_1'"):
        build(tmp_path / "in", tmp_path / "out")


def test_prompt_styles_and_pixel_cap(tmp_path):
    rows = [fx.mmmu_row("validation_Math_1", "Q <image 1>", options="['a', 'b']", answer="B",
                        image_1={"bytes": fx.png(size=(400, 300)), "path": "big.png"})]
    fx.write_hub_parquet(tmp_path / "in" / "Math" / "validation-00000-of-00001.parquet", rows, fx.MMMU_FEATURES)
    contents = {}
    for style in ("rlsd", "geo3k", "native", "none"):
        build(tmp_path / "in", tmp_path / style, prompt_style=style, max_pixels=1200)
        r = load_parquet(tmp_path / style / "mmmu_validation.parquet")[0]
        contents[style] = r["prompt"][0]["content"]
        assert r["images"][0].size == (40, 30)
        assert r["extra_info"]["question"] == "Q <image>\nOptions:\nA. a\nB. b"
    assert "<thought>" in contents["rlsd"] and "letter of the correct option" in contents["rlsd"]
    assert "\\boxed{}" in contents["geo3k"] and "option letter" in contents["geo3k"]
    assert contents["native"].endswith("Answer with the option's letter from the given choices directly.")
    assert contents["none"] == "Q <image>\nOptions:\nA. a\nB. b"


def test_unknown_subject_and_missing_input(tmp_path):
    with pytest.raises(ValueError, match="unknown MMMU subject"):
        build(tmp_path, tmp_path / "out", subjects=["Astrology"])
    with pytest.raises(InputError, match="does not exist"):
        build(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no data for split 'validation'"):
        build(tmp_path / "empty", tmp_path / "out")


def test_from_hub_downloads_only_the_split(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    def fake_snapshot_download(**kw):
        calls.append(kw)
        return fx.write_mmmu_hub(tmp_path / "hub")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    s = mmmu.build_mmmu(from_hub=True, output_dir=str(tmp_path / "out"), subjects=["Accounting"], progress=False)
    assert s["rows"] == 3
    assert calls == [dict(repo_id="MMMU/MMMU", repo_type="dataset",
                          allow_patterns=["Accounting/validation-*.parquet"])]


def test_cli_end_to_end(tmp_path):
    fx.write_mmmu_hub(tmp_path / "in")
    script = os.path.join(REPO, "data_prep", "mmmu.py")
    ok = subprocess.run([sys.executable, script, "--input", str(tmp_path / "in"), "--split", "validation",
                         "--output-dir", str(tmp_path / "out"), "--subjects", "Accounting,Art_Theory",
                         "--max-pixels", "1000000"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "rows written: 5 (multiple choice 2, free form 3)" in ok.stdout
    assert json.loads(ok.stdout.strip().splitlines()[-1])["rows"] == 5
    assert load_parquet(tmp_path / "out" / "mmmu_validation.parquet").features == FEATURES
    bad = subprocess.run([sys.executable, script, "--input", str(tmp_path / "in"), "--output-dir",
                          str(tmp_path / "out2")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "expected 900" in bad.stderr
    assert not (tmp_path / "out2" / "mmmu_validation.parquet").exists()
