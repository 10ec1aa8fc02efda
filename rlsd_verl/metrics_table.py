"""``python -m rlsd_verl.metrics_table LOG.jsonl [KEY ...]``: a step-by-metric table of a run.

Reads verl's ``file``-logger JSONL (``trainer.logger=[...,file]``) and prints the chosen
metrics (default: the ones that show an RLSD run working) for every logged step.
"""

from __future__ import annotations

import argparse
import sys

from rlsd_verl.report import ReportError, read_metric_log

DEFAULT_KEYS = (
    "critic/score/mean",
    "actor/grad_norm",
    "actor/entropy",
    "rlsd/lambda",
    "rlsd/delta_mean",
    "rlsd/clip_frac",
    "rlsd/multiplier_mean",
    "rlsd/teacher_skipped",
    "timing_s/teacher",
    "timing_s/step",
)


def format_table(series: dict[str, list[tuple[int, float]]], keys: list[str]) -> str:
    keys = [k for k in keys if k in series]
    steps = sorted({s for k in keys for s, _ in series[k]})
    if not keys or not steps:
        return "(no matching metrics)"
    short = [k.split("/", 1)[-1] if k.count("/") == 1 else k for k in keys]
    width = [max(len(h), 10) for h in short]
    lines = ["step  " + "  ".join(h.rjust(w) for h, w in zip(short, width))]
    for step in steps:
        cells = []
        for k, w in zip(keys, width):
            value = dict(series[k]).get(step)
            cells.append(("—" if value is None else f"{value:.4g}").rjust(w))
        lines.append(f"{step:>4}  " + "  ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="verl file-logger JSONL")
    parser.add_argument("keys", nargs="*", help="metric names (default: a short RLSD summary)")
    args = parser.parse_args(argv)
    try:
        log = read_metric_log(args.log)
    except (OSError, ReportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_table(log.series, args.keys or list(DEFAULT_KEYS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
