"""Build all five evaluation sets of the paper's Table 2 in one go (MMMU, MathVista, MathVision,
ZeroBench, WeMath), from one folder holding each dataset's hub layout or from the hub.

``--root ROOT`` expects ``ROOT/MMMU``, ``ROOT/MathVista``, ``ROOT/MathVision``, ``ROOT/ZeroBench``,
``ROOT/WeMath`` (each any layout its builder accepts); ``--from-hub`` downloads instead. ZeroBench's
main split (100 questions) is built too unless ``--no-zerobench-main``. One benchmark's failure never
stops the others: every benchmark is built that can be, each failure is reported at the end (with
its error), and the exit status is 1 if any failed (each file is written atomically, so a failed
benchmark leaves no partial output).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from rlsd_verl.data.build import format_summary
from rlsd_verl.data.catalog import PAPER_BENCHMARKS
from rlsd_verl.data.prompts import DEFAULT_PROMPT_STYLE, PROMPT_STYLES

FOLDERS = {"mmmu": "MMMU", "mathvista": "MathVista", "mathvision": "MathVision", "zerobench": "ZeroBench",
           "wemath": "WeMath"}


def _builder(name):
    from rlsd_verl.data import mathvision, mathvista, mmmu, wemath, zerobench

    return {"mmmu": mmmu.build_mmmu, "mathvista": mathvista.build_mathvista,
            "mathvision": mathvision.build_mathvision, "zerobench": zerobench.build_zerobench,
            "wemath": wemath.build_wemath}[name]


class BenchmarksFailed(RuntimeError):
    """Some benchmarks failed; ``results`` holds the summaries of the others, ``failures`` the errors."""

    def __init__(self, results: dict[str, dict], failures: dict[str, Exception]):
        self.results = results
        self.failures = failures
        lines = [f"  - {name}: {type(e).__name__}: {e}" for name, e in failures.items()]
        super().__init__(f"{len(failures)} of {len(results) + len(failures)} benchmark build(s) failed:\n"
                         + "\n".join(lines))


def build_paper_benchmarks(*, output_dir: str, root: str | None = None, from_hub: bool = False,
                           zerobench_main: bool = True, **common) -> dict[str, dict]:
    """Run the five builders; returns ``{"<name>_<split>": summary}``.

    Every benchmark is attempted; if any failed, :class:`BenchmarksFailed` is raised at the end,
    carrying the summaries of those that were built and the error of each that was not.
    """
    if (root is None) == (not from_hub):
        raise ValueError("give exactly one of root / from_hub")
    jobs = list(PAPER_BENCHMARKS)
    if zerobench_main:
        jobs.append(("zerobench", "zerobench"))
    out: dict[str, dict] = {}
    failures: dict[str, Exception] = {}
    for name, split in jobs:
        src = dict(from_hub=True) if from_hub else dict(input=os.path.join(root, FOLDERS[name]))
        try:
            out[f"{name}_{split}"] = _builder(name)(split=split, output_dir=output_dir, **src, **common)
        except (ValueError, OSError) as e:
            failures[f"{name}_{split}"] = e
            print(f"error: {name} [{split}] failed (continuing with the others): {e}", file=sys.stderr)
    if failures:
        raise BenchmarksFailed(out, failures)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--root", help="folder with MMMU/ MathVista/ MathVision/ ZeroBench/ WeMath/")
    g.add_argument("--from-hub", action="store_true", help="download each dataset (needs network)")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--prompt-style", choices=PROMPT_STYLES, default=DEFAULT_PROMPT_STYLE)
    p.add_argument("--max-pixels", type=int, default=0)
    p.add_argument("--skip-bad", action="store_true")
    p.add_argument("--allow-count-mismatch", action="store_true")
    p.add_argument("--no-zerobench-main", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    failures: dict[str, Exception] = {}
    try:
        res = build_paper_benchmarks(output_dir=a.output_dir, root=a.root, from_hub=a.from_hub,
                                     zerobench_main=not a.no_zerobench_main, prompt_style=a.prompt_style,
                                     max_pixels=a.max_pixels or None, skip_bad=a.skip_bad,
                                     allow_count_mismatch=a.allow_count_mismatch, progress=not a.no_progress)
    except BenchmarksFailed as e:
        res, failures = e.results, e.failures
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for s in res.values():
        print(format_summary(s))
    print(json.dumps({k: v["rows"] for k, v in res.items()}))
    if failures:
        print(f"error: {len(failures)} benchmark(s) failed, {len(res)} built:", file=sys.stderr)
        for name, e in failures.items():
            print(f"  - {name}: {e}", file=sys.stderr)
        return 1
    return 0
