"""``python -m rlsd_verl.metrics_table LOG.jsonl [KEY ...]``: a step-by-metric table of a run.

Reads verl's ``file``-logger JSONL (``trainer.logger=[...,file]``) and prints the chosen
metrics (default: the ones that show an RLSD run working) for every logged step. Instead of a
path, ``--project P --experiment E`` finds the file where verl wrote it: ``VERL_FILE_LOGGER_PATH``
when set, else ``$VERL_FILE_LOGGER_ROOT/P/E.jsonl``.
"""

from __future__ import annotations

import argparse
import os
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


def verl_file_logger_path(project: str, experiment: str, env=None) -> str:
    """The JSONL verl's ``file`` logger writes for a run (``verl.utils.tracking.FileLogger``'s rule)."""
    env = os.environ if env is None else env
    if env.get("VERL_FILE_LOGGER_PATH"):
        return os.path.abspath(os.path.expanduser(env["VERL_FILE_LOGGER_PATH"]))
    root = os.path.expanduser(env.get("VERL_FILE_LOGGER_ROOT", "."))
    return os.path.abspath(os.path.join(root, project, f"{experiment}.jsonl"))


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
    parser.add_argument("log", nargs="?", help="verl file-logger JSONL (or --project/--experiment)")
    parser.add_argument("keys", nargs="*", help="metric names (default: a short RLSD summary)")
    parser.add_argument("--project", help="trainer.project_name of the run (with --experiment)")
    parser.add_argument("--experiment", help="trainer.experiment_name of the run (with --project)")
    args = parser.parse_args(argv)
    if (args.project is None) != (args.experiment is None):
        parser.error("give both --project and --experiment")
    if args.project is not None:
        if args.log is not None:
            args.keys = [args.log, *args.keys]
        args.log = verl_file_logger_path(args.project, args.experiment)
    elif args.log is None:
        parser.error("give the JSONL path, or --project and --experiment")
    print(f"== per-step metrics ({args.log}) ==")
    try:
        log = read_metric_log(args.log)
    except (OSError, ReportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_table(log.series, args.keys or list(DEFAULT_KEYS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
