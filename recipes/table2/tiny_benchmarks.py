#!/usr/bin/env python
"""Tiny stand-ins for the paper's five evaluation sets, for the recipes' ``--cpu`` mode.

Usage: python recipes/table2/tiny_benchmarks.py --out DIR [--n 4]

Writes ``DIR/<benchmark>_<split>.parquet`` for MMMU, MathVista, MathVision, ZeroBench (sub-questions)
and WeMath: synthetic vision-language rows (``rlsd_verl.assets.synthetic_data``) relabelled with each
benchmark's ``data_source`` (``rlsd_verl.data.catalog``), so that evaluation, aggregation and the
report see the five Table 2 columns. The accuracies mean nothing (tiny random models); only the
plumbing is exercised. Deterministic; files are written atomically; existing files are rewritten.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys


def build(out: str, n: int = 4) -> list[str]:
    from rlsd_verl.assets.synthetic_data import make_rows
    from rlsd_verl.data.catalog import DATASETS, PAPER_BENCHMARKS
    from rlsd_verl.data.schema import write_parquet

    os.makedirs(out, exist_ok=True)
    rows = make_rows("vl", "val", n, seed=0)
    paths = []
    for name, split in PAPER_BENCHMARKS:
        data_source = DATASETS[split if split in DATASETS else name].data_source
        tagged = []
        for i, row in enumerate(rows):
            row = copy.deepcopy(row)
            row["data_source"] = data_source
            row["extra_info"]["id"] = f"{name}-{i}"
            row["extra_info"]["split"] = split
            tagged.append(row)
        path = os.path.join(out, f"{name}_{split}.parquet")
        write_parquet(tagged, path)
        paths.append(path)
    return paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--n", type=int, default=4, help="rows per benchmark (default 4)")
    a = p.parse_args(argv)
    if a.n < 1:
        p.error(f"--n must be positive, got {a.n}")
    for path in build(a.out, a.n):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
