"""The five-benchmark driver and the data_source catalog."""

from __future__ import annotations

import importlib

import fixtures as fx
import pytest

from rlsd_verl.data.catalog import DATA_SOURCES, DATASETS, PAPER_BENCHMARKS
from rlsd_verl.data.paper_benchmarks import BenchmarksFailed, build_paper_benchmarks, main
from rlsd_verl.data.schema import load_parquet


def _root(tmp_path):
    r = tmp_path / "root"
    fx.write_mmmu_hub(r / "MMMU")
    fx.write_hub_parquet(r / "MathVista/data/testmini-0.parquet", fx.mathvista_rows(), fx.MATHVISTA_FEATURES)
    fx.write_hub_parquet(r / "MathVision/data/test-0.parquet", fx.mathvision_rows(), fx.MATHVISION_FEATURES)
    fx.write_hub_parquet(r / "ZeroBench/data/zerobench-0.parquet", fx.zerobench_rows(), fx.ZEROBENCH_FEATURES)
    fx.write_hub_parquet(r / "ZeroBench/data/zerobench_subquestions-0.parquet", fx.zerobench_rows(sub=True),
                         fx.ZEROBENCH_FEATURES)
    fx.write_hub_parquet(r / "WeMath/data/testmini-0.parquet", fx.wemath_rows(), fx.WEMATH_FEATURES)
    return r


def test_builds_all_five(tmp_path):
    res = build_paper_benchmarks(output_dir=str(tmp_path / "out"), root=str(_root(tmp_path)),
                                 allow_count_mismatch=True, progress=False)
    assert {k: v["rows"] for k, v in res.items()} == {
        "mmmu_validation": 5, "mathvista_testmini": 3, "mathvision_test": 4,
        "zerobench_zerobench_subquestions": 2, "wemath_testmini": 2, "zerobench_zerobench": 1}
    for s in res.values():
        out = next(iter(s["outputs"].values()))
        assert DATA_SOURCES[load_parquet(out)[0]["data_source"]]


def test_one_failure_does_not_stop_the_others(tmp_path, capsys):
    # MathVista's folder is missing and a We-Math row is broken; the other four still build
    root = _root(tmp_path)
    import shutil

    shutil.rmtree(root / "MathVista")
    bad = fx.wemath_rows()
    bad[0]["option"] = "no letters here"
    fx.write_hub_parquet(root / "WeMath/data/testmini-0.parquet", bad, fx.WEMATH_FEATURES)
    out = tmp_path / "out"
    assert main(["--root", str(root), "--output-dir", str(out), "--no-progress", "--allow-count-mismatch"]) == 1
    err = capsys.readouterr().err
    assert "2 benchmark(s) failed, 4 built" in err
    assert "mathvista_testmini:" in err and "does not exist" in err
    assert "wemath_testmini:" in err and "cannot read lettered options" in err
    assert (out / "mmmu_validation.parquet").exists() and (out / "zerobench_zerobench.parquet").exists()
    assert not (out / "wemath_testmini.parquet").exists()
    with pytest.raises(BenchmarksFailed) as e:
        build_paper_benchmarks(output_dir=str(out), root=str(root), progress=False)  # count checks fail too
    assert len(e.value.failures) == 6 and not e.value.results
    assert "expected 900" in str(e.value.failures["mmmu_validation"])
    with pytest.raises(ValueError, match="exactly one"):
        build_paper_benchmarks(output_dir=str(tmp_path), root=None, from_hub=False)


def test_catalog_matches_the_modules():
    for name, info in DATASETS.items():
        mod = importlib.import_module(f"rlsd_verl.data.{info.module}")
        sources = getattr(mod, "DATA_SOURCES", None)
        if sources is not None:  # zerobench: one data_source per split
            assert info.data_source in sources.values()
        else:
            assert mod.DATA_SOURCE == info.data_source
        assert set(info.splits) <= set(mod.SPLITS)
    assert [b for b, _ in PAPER_BENCHMARKS] == ["mmmu", "mathvista", "mathvision", "zerobench", "wemath"]
