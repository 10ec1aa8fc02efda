"""Fixtures for the data-prep tests: every input is built in tmp_path (no download, no network)."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))  # `import fixtures`

import fixtures as fx  # noqa: E402

QUIET = dict(progress=False)


@pytest.fixture(scope="session")
def all_outputs(tmp_path_factory) -> dict[str, str]:
    """Run every builder once on its fixture input; ``{name: parquet path}``."""
    from rlsd_verl.data.geometry3k import build_geometry3k
    from rlsd_verl.data.mathvision import build_mathvision
    from rlsd_verl.data.mathvista import build_mathvista
    from rlsd_verl.data.mmfinereason import build_mmfinereason
    from rlsd_verl.data.mmmu import build_mmmu
    from rlsd_verl.data.wemath import build_wemath
    from rlsd_verl.data.zerobench import build_zerobench

    d = tmp_path_factory.mktemp("all_inputs")
    out = str(d / "out")
    fx.write_mmmu_hub(d / "mmmu")
    fx.write_mathvision_hub(d / "mathvision", "testmini")
    fx.write_hub_parquet(d / "mathvista/data/testmini-00000-of-00001-x.parquet", fx.mathvista_rows(),
                         fx.MATHVISTA_FEATURES)
    fx.write_hub_parquet(d / "wemath/data/testmini-00000-of-00001.parquet", fx.wemath_rows(), fx.WEMATH_FEATURES)
    fx.write_hub_parquet(d / "zerobench/data/zerobench-00000-of-00001.parquet", fx.zerobench_rows(),
                         fx.ZEROBENCH_FEATURES)
    fx.write_hub_parquet(d / "zerobench/data/zerobench_subquestions-00000-of-00001.parquet",
                         fx.zerobench_rows(sub=True), fx.ZEROBENCH_FEATURES)
    fx.write_hub_parquet(d / "geo3k/data/test-00000-of-00001.parquet", fx.geo3k_rows(), fx.GEO3K_FEATURES)
    fx.write_hub_parquet(d / "mmfr/data/train-00000-of-00018.parquet", fx.mmfinereason_rows(),
                         fx.MMFINEREASON_FEATURES)
    kw = dict(output_dir=out, allow_count_mismatch=True, **QUIET)
    runs = {
        "mmmu": build_mmmu(input=str(d / "mmmu"), split="validation", **kw),
        "mathvision": build_mathvision(input=str(d / "mathvision"), split="testmini", **kw),
        "mathvista": build_mathvista(input=str(d / "mathvista"), split="testmini", **kw),
        "wemath": build_wemath(input=str(d / "wemath"), split="testmini", **kw),
        "zerobench": build_zerobench(input=str(d / "zerobench"), split="main", **kw),
        "zerobench_sub": build_zerobench(input=str(d / "zerobench"), split="sub", **kw),
        "geometry3k": build_geometry3k(input=str(d / "geo3k"), split="test", **kw),
        "mmfinereason": build_mmfinereason(input=str(d / "mmfr"), **kw),
    }
    return {name: next(iter(s["outputs"].values())) for name, s in runs.items()}
