"""End-to-end: ``recipes/eval/evaluate.sh`` on the CPU backend with the tiny Qwen2.5-VL model.

Runs real verl validation (``trainer.val_only=True``) through ``python -m rlsd_verl.main preset=cpu``
on two small benchmark-like parquet files (MMMU and MathVision data sources, several subjects), then
checks the aggregator's JSON against the dump and against verl's own ``val-core/<ds>/acc/mean@1``
from the ``file`` logger. A random tiny model answers nonsense, so the check is on plumbing and
consistency, not on accuracy values. Takes about two minutes on a 2-core machine.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(ROOT, "recipes", "eval", "evaluate.sh")


pytestmark = pytest.mark.e2e


def _benchmark_files(tmp_path):
    """Two parquet files in the project schema: synthetic VL rows relabelled as MMMU / MathVision."""
    from rlsd_verl.assets.synthetic_data import make_rows
    from rlsd_verl.data.schema import write_parquet

    rows = make_rows("vl", "val", 4, seed=0)
    files = {}
    for ds, subjects, name in (("MMMU/MMMU", ["Art", "Math"], "mmmu_validation"),
                               ("MathLLMs/MathVision", ["algebra", "counting", "logic"], "mathvision_testmini")):
        out = []
        for i, r in enumerate(rows):
            r = copy.deepcopy(r)
            r["data_source"] = ds
            r["extra_info"]["subject"] = subjects[i % len(subjects)]
            r["extra_info"]["id"] = f"{name}-{i}"
            out.append(r)
        path = str(tmp_path / f"{name}.parquet")
        write_parquet(out, path)
        files[ds] = (path, out)
    return files


def test_evaluate_recipe_end_to_end(tmp_path):
    from rlsd_verl.assets.tiny_models import build_tiny_qwen2_5_vl

    model = build_tiny_qwen2_5_vl(str(tmp_path / "model"))
    files = _benchmark_files(tmp_path)
    out = tmp_path / "out"
    env = dict(os.environ)
    env.update(
        PRESET="cpu",
        VAL_FILES=" ".join(p for p, _ in files.values()),
        RUN_NAME="tiny-e2e",
        MAX_PROMPT_LENGTH="512",
        MAX_RESPONSE_LENGTH="24",
        PYTHON=sys.executable,
        PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""),
    )
    res = subprocess.run(["bash", RECIPE, model, str(out)], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-6000:])

    summary = json.loads((out / "eval.json").read_text())
    assert summary["name"] == "tiny-e2e" and summary["step"] == 0
    assert set(summary["benchmarks"]) == {"MMMU", "MathVision"}
    for ds, (_, rows) in files.items():
        bench = "MMMU" if ds.startswith("MMMU") else "MathVision"
        entry = summary["benchmarks"][bench]
        assert entry["n_questions"] == len(rows) and entry["n_responses"] == len(rows)
        assert set(entry["by_subject"]) == {r["extra_info"]["subject"] for r in rows}
        assert sum(s["n_questions"] for s in entry["by_subject"].values()) == len(rows)

    # the dump carries the reward's extra keys, including the string ones
    lines = [json.loads(x) for x in open(out / "generations" / "0.jsonl", encoding="utf-8")]
    assert len(lines) == sum(len(r) for _, r in files.values())
    for key in ("acc", "format", "timeout", "pred", "benchmark", "data_source", "subject", "sample_id", "uid"):
        assert all(key in row for row in lines), key

    # verl's own validation metrics (file logger) agree with the aggregator
    log = out / "metrics" / "rlsd_eval" / "tiny-e2e.jsonl"
    records = [json.loads(x) for x in open(log, encoding="utf-8")]
    data = records[-1]["data"]
    for ds in files:
        assert summary["data_sources"][ds]["acc"] == pytest.approx(data[f"val-core/{ds}/acc/mean@1"])
