"""``python -m rlsd_verl.assets --out DIR`` builds every asset and says what it wrote."""

from __future__ import annotations

import json
import os

import pytest

from rlsd_verl.assets.__main__ import main
from rlsd_verl.assets.tiny_models import read_marker


def test_cli_builds_everything(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--n-train", "4", "--n-val", "2"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    for kind in ("text", "qwen2_5_vl", "qwen3_vl"):
        assert summary[kind] == str(tmp_path / kind)
        assert read_marker(summary[kind])["kind"] == kind
        assert any(line.startswith("model") and summary[kind] in line for line in out)
    for kind in ("text", "vl"):
        paths = summary[f"data_{kind}"]
        assert paths == {"train": str(tmp_path / "data" / kind / "train.parquet"), "val": str(tmp_path / "data" / kind / "val.parquet")}
        assert all(os.path.getsize(p) > 0 for p in paths.values())
    # Second run reuses the models (weights untouched).
    weights = tmp_path / "text" / "model.safetensors"
    mtime = weights.stat().st_mtime_ns
    assert main(["--out", str(tmp_path), "--n-train", "4", "--n-val", "2"]) == 0
    assert weights.stat().st_mtime_ns == mtime


def test_cli_rejects_bad_counts(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--out", str(tmp_path), "--n-train", "0"])
    assert e.value.code == 2 and "--n-train" in capsys.readouterr().err
