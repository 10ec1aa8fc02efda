"""The shared row schema: make_row / validate_row contract, atomic streaming writes, loader check."""

from __future__ import annotations

import copy
import os

import datasets
import pytest
from fixtures import colour_of, png

from rlsd_verl.data.schema import (
    EXTRA_INFO_KEYS,
    FEATURES,
    FREE_FORM,
    MULTIPLE_CHOICE,
    ParquetSink,
    SchemaError,
    check_parquet,
    load_parquet,
    make_row,
    validate_row,
    write_parquet,
)


def _row(i=0, **kw):
    args = dict(data_source="test/src", question="<image>\nWhich colour?\nOptions:\nA. red\nB. green", answer="B",
                images=[png((0, 255, 0))], instruction="Answer.", id=f"r{i}", split="test", index=i,
                question_type=MULTIPLE_CHOICE, options=["red", "green"])
    args.update(kw)
    return make_row(**args)


def test_make_row_layout():
    r = _row(reference_solution="green square", level=3)
    assert list(r) == list(FEATURES)
    assert r["prompt"] == [{"role": "user", "content": r["extra_info"]["question"] + "\n\nAnswer."}]
    assert r["reward_model"] == {"style": "rule", "ground_truth": "B"}
    assert set(r["extra_info"]) == set(EXTRA_INFO_KEYS)
    assert r["extra_info"]["gold_answers"] == ["B"] and r["extra_info"]["level"] == 3
    assert r["extra_info"]["source_dataset"] == "test/src"  # defaults to data_source
    assert _row(level=None)["extra_info"]["level"] == -1


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r["prompt"][0].update(content="no token here"), "0 '<image>' tokens but 1 images"),
        (lambda r: r["images"].append(r["images"][0]), "tokens but 2 images"),
        (lambda r: r["reward_model"].update(style="model"), "reward_model.style"),
        (lambda r: r["reward_model"].update(ground_truth=" "), "reward_model.ground_truth"),
        (lambda r: r["extra_info"].update(answer="A"), "extra_info.answer"),
        (lambda r: r["extra_info"].update(gold_answers=["A"]), "does not contain the ground truth"),
        (lambda r: r["extra_info"].update(question_type="open"), "extra_info.question_type"),
        (lambda r: r["extra_info"].update(options=["only one"]), "not one of the letters"),
        (lambda r: r["extra_info"].update(index="3"), "extra_info.index"),
        (lambda r: r["extra_info"].pop("subject"), "extra_info"),
        (lambda r: r.pop("ability"), "columns"),
        (lambda r: r["prompt"].append({"role": "user", "content": "x"}), "exactly one user message"),
    ],
)
def test_validate_row_rejects_with_row_id(mutate, message):
    r = copy.deepcopy(_row(i=7))
    mutate(r)
    with pytest.raises(SchemaError) as e:
        validate_row(r)
    assert message in str(e.value)
    if "columns" not in message:
        assert "row id='r7'" in str(e.value)


def test_validate_row_decodes_images_on_request():
    r = _row()
    r["images"] = [{"bytes": b"not an image", "path": None}]
    validate_row(r)  # cheap check passes
    with pytest.raises(SchemaError, match="image 0 does not decode"):
        validate_row(r, decode_images=True)


def test_write_parquet_round_trip_and_loader_check(tmp_path):
    rows = [_row(i) for i in range(5)] + [
        make_row(data_source="test/src", question="What is 1+1?", answer="2", id="t", split="test", index=5,
                 question_type=FREE_FORM)
    ]
    path = tmp_path / "sub" / "out.parquet"
    assert write_parquet(rows, path, row_group_size=2) == 6
    assert os.listdir(path.parent) == ["out.parquet"]  # no temp file left behind
    ds = load_parquet(path)
    assert ds.features == FEATURES
    assert colour_of(ds[0]["images"][0]) == (0, 255, 0)
    summary = check_parquet(path)
    assert summary["rows"] == 6 and summary["images"] == 5
    assert (summary["multiple_choice"], summary["free_form"]) == (5, 1)
    # a loaded Dataset can be written again (same schema)
    assert write_parquet(ds, tmp_path / "again.parquet") == 6
    assert load_parquet(tmp_path / "again.parquet")[5]["extra_info"]["id"] == "t"


def test_write_parquet_is_atomic(tmp_path):
    path = tmp_path / "out.parquet"
    write_parquet([_row(0)], path)
    before = path.read_bytes()

    def rows():
        yield from (_row(i) for i in range(300))  # > one row group, so part of it was already written
        raise RuntimeError("crash in the middle")

    with pytest.raises(RuntimeError, match="crash"):
        write_parquet(rows(), path)
    assert path.read_bytes() == before  # old file untouched
    assert sorted(os.listdir(tmp_path)) == ["out.parquet"]  # temp file removed

    bad = _row(1)
    bad["images"] = []
    with pytest.raises(SchemaError, match="row id='r1'"):
        write_parquet([_row(0), bad], tmp_path / "new.parquet")
    assert not (tmp_path / "new.parquet").exists()
    with pytest.raises(SchemaError, match="no rows"):
        write_parquet([], tmp_path / "empty.parquet")
    assert sorted(os.listdir(tmp_path)) == ["out.parquet"]


def test_sink_check_can_abort(tmp_path):
    sink = ParquetSink(tmp_path / "x.parquet")
    sink.add(_row(0))

    def refuse(n):
        raise ValueError(f"refused {n}")

    with pytest.raises(ValueError, match="refused 1"):
        sink.commit(check=refuse)
    assert os.listdir(tmp_path) == []


def test_check_parquet_rejects_foreign_schema(tmp_path):
    path = tmp_path / "other.parquet"
    datasets.Dataset.from_list([{"prompt": "x"}]).to_parquet(str(path))
    with pytest.raises(SchemaError, match="features differ"):
        check_parquet(path)
