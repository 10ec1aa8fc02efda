"""The shared conversion loop: parallel workers give the same file, errors still name the row,
outputs get normal permissions, and big images close row groups early."""

from __future__ import annotations

import os
import stat

import fixtures as fx
import pyarrow.parquet as pq
import pytest

from rlsd_verl.data import geometry3k, mmmu
from rlsd_verl.data.images import BadImageError
from rlsd_verl.data.schema import ParquetSink, load_parquet, make_row


def test_workers_match_sequential_and_keep_errors(tmp_path):
    fx.write_mmmu_hub(tmp_path / "in", shards=2)
    rows = fx.geo3k_rows() * 3
    fx.write_hub_parquet(tmp_path / "g3/data/train-0.parquet", rows, fx.GEO3K_FEATURES)
    kw = dict(progress=False, allow_count_mismatch=True)
    s1 = mmmu.build_mmmu(input=str(tmp_path / "in"), output_dir=str(tmp_path / "seq"), **kw)
    s2 = mmmu.build_mmmu(input=str(tmp_path / "in"), output_dir=str(tmp_path / "par"), workers=2, **kw)
    for key in ("rows", "multiple_choice", "free_form", "images", "notes"):
        assert s1[key] == s2[key]
    a = load_parquet(tmp_path / "seq/mmmu_validation.parquet")
    b = load_parquet(tmp_path / "par/mmmu_validation.parquet")
    assert a["prompt"] == b["prompt"] and a["extra_info"] == b["extra_info"]
    assert [[fx.colour_of(i) for i in r] for r in a["images"]] == [[fx.colour_of(i) for i in r] for r in b["images"]]
    # generated ids use the source row number, also across processes
    geometry3k.build_geometry3k(input=str(tmp_path / "g3"), output_dir=str(tmp_path / "g"), workers=2, **kw)
    ids = [r["id"] for r in load_parquet(tmp_path / "g/geometry3k_train.parquet")["extra_info"]]
    assert ids == [f"geometry3k-train-{i}" for i in range(6)]
    # a corrupt image raised in a worker is still a BadImageError naming the row
    bad = fx.mmmu_accounting_rows()
    bad[2]["image_1"] = fx.corrupt()
    fx.write_hub_parquet(tmp_path / "bad/Accounting/validation-0.parquet", bad, fx.MMMU_FEATURES)
    with pytest.raises(BadImageError, match=r"validation_Accounting_3\), column image_1"):
        mmmu.build_mmmu(input=str(tmp_path / "bad"), output_dir=str(tmp_path / "o"), workers=2, **kw)
    assert not (tmp_path / "o/mmmu_validation.parquet").exists()


def test_output_permissions_follow_umask(tmp_path):
    fx.write_mmmu_hub(tmp_path / "in")
    old = os.umask(0o022)
    try:
        s = mmmu.build_mmmu(input=str(tmp_path / "in"), output_dir=str(tmp_path / "out"), progress=False,
                            allow_count_mismatch=True)
    finally:
        os.umask(old)
    for path in (s["outputs"]["validation"], s["summary_path"]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_row_groups_close_on_image_bytes(tmp_path, monkeypatch):
    import rlsd_verl.data.schema as schema

    monkeypatch.setattr(schema, "ROW_GROUP_BYTES", 1000)
    import numpy as np
    from PIL import Image

    buf = __import__("io").BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(buf, "PNG")
    big = buf.getvalue()
    assert len(big) > 600  # two per row: every row passes the (patched) 1000-byte limit
    with ParquetSink(tmp_path / "x.parquet") as sink:
        for i in range(5):
            sink.add(make_row(data_source="t", question="<image><image>q", answer="1", images=[big, big],
                              id=str(i), split="s", index=i))
    assert pq.ParquetFile(tmp_path / "x.parquet").metadata.num_row_groups == 5
    assert len(load_parquet(tmp_path / "x.parquet")) == 5
