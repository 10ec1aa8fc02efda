"""Table 2 report: runs' benchmark accuracies beside the RLSD paper's, plus training-curve plots.

::

    python -m rlsd_verl.report RUN [RUN ...] --out report.md [--label RUN=NAME ...] [--plots-dir DIR]
    rlsd-verl-report RUN [RUN ...] --out report.md            (console script, same arguments)

Each RUN is a folder (searched recursively), a metric log or an evaluation JSON:

* metric logs: verl's ``file`` logger output, ``$VERL_FILE_LOGGER_ROOT/<project>/<experiment>.jsonl``
  (``verl.utils.tracking.FileLogger``), one ``{"step": N, "data": {metric: value}}`` per line;
* evaluation JSONs: ``python -m rlsd_verl.eval.aggregate`` output (``"schema": "rlsd_verl.eval/v1"``).

Other ``.json``/``.jsonl`` files (validation dumps, configs) are ignored.

One RUN is one row of the table. Its label is ``--label`` (``KEY=NAME``, KEY = the RUN argument as
given or its folder/file name), else the evaluation JSON's ``name``, else the metric log's experiment
name, else the RUN's base name. A benchmark's value comes from the run's evaluation JSON (the one with
the highest step); without one, from the last logged ``val-core/<data_source>/acc/mean@N`` of the
metric log (marked ``†``). Values are accuracies in percent. ZeroBench uses the sub-question set
(``ZeroBench-sub``) when present, as the paper's numbers only fit it (research notes, paper.md §7).
Missing benchmarks are shown as "—"; the average is over the benchmarks present and flagged ``*`` when
fewer than five are. WeMath is plain accuracy, not WeMath's four-dimensional strict/loose score.

Plots (PNG, matplotlib's Agg backend), over training steps, one line per run: validation accuracy
(``val-core/*/acc/mean@*``, one panel per data source), ``actor/entropy``, ``response_length/mean``,
every ``rlsd/*`` and ``failure/*`` metric (one panel each), and response length next to accuracy (validation
and training accuracy, mean length, length of correct / wrong responses, truncated share: the collapse
check of :mod:`rlsd_verl.algos.failure_metrics`).

All outputs are written atomically; a bad input file raises an error naming it.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rlsd_verl.utils.io import atomic_write_bytes, atomic_write_text, read_jsonl
from rlsd_verl.rewards.scoring import benchmark_of

EVAL_SCHEMA = "rlsd_verl.eval/v1"
COLUMNS = ("MMMU", "MathVista", "MathVision", "ZeroBench", "WeMath")
# Column -> benchmark keys accepted, in order of preference.
COLUMN_SOURCES = {
    "MMMU": ("MMMU",),
    "MathVista": ("MathVista",),
    "MathVision": ("MathVision",),
    "ZeroBench": ("ZeroBench-sub", "ZeroBench"),
    "WeMath": ("WeMath",),
}

PAPER_SOURCE = (
    "RLSD paper (arXiv:2604.03128), Table 2: Qwen3-VL-8B-Instruct, 4K response length, accuracy (%); "
    "Avg. is the unweighted mean of the five benchmarks"
)
# Table 2 of the paper, verbatim (also in the official README).
PAPER_TABLE2 = {
    "Base LLM": {"MMMU": 62.44, "MathVista": 73.80, "MathVision": 47.37, "ZeroBench": 19.76, "WeMath": 54.10, "Avg": 51.49},
    "GRPO": {"MMMU": 65.11, "MathVista": 76.20, "MathVision": 48.82, "ZeroBench": 22.60, "WeMath": 56.57, "Avg": 53.86},
    "OPSD": {"MMMU": 63.82, "MathVista": 75.10, "MathVision": 47.53, "ZeroBench": 21.06, "WeMath": 54.95, "Avg": 52.49},
    "SDPO": {"MMMU": 65.11, "MathVista": 74.00, "MathVision": 47.27, "ZeroBench": 25.15, "WeMath": 52.19, "Avg": 52.74},
    "GRPO+OPSD": {"MMMU": 63.22, "MathVista": 75.90, "MathVision": 48.52, "ZeroBench": 22.16, "WeMath": 54.76, "Avg": 52.91},
    "RLSD (Ours)": {"MMMU": 67.22, "MathVista": 78.10, "MathVision": 52.73, "ZeroBench": 24.85, "WeMath": 58.00, "Avg": 56.18},
}
# run label (lower-case, spaces/underscores/dashes removed) -> paper row
PAPER_ALIASES = {
    "base": "Base LLM", "basellm": "Base LLM", "qwen3vl8binstruct": "Base LLM",
    "grpo": "GRPO", "opsd": "OPSD", "sdpo": "SDPO", "grpo+opsd": "GRPO+OPSD", "grpoopsd": "GRPO+OPSD",
    "rlsd": "RLSD (Ours)", "rlsd(ours)": "RLSD (Ours)",
}

VAL_ACC = re.compile(r"^val-core/(?P<ds>.+)/acc/mean@(?P<n>\d+)$")
DASH = "—"


class ReportError(ValueError):
    """A bad input (file, argument); the message names it."""


@dataclass
class MetricLog:
    path: str
    # metric -> list of (step, value), in file order
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    @property
    def experiment(self) -> str:
        return os.path.splitext(os.path.basename(self.path))[0]


@dataclass
class Run:
    arg: str
    label: str
    evals: list[tuple[str, dict]] = field(default_factory=list)
    logs: list[MetricLog] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)  # column -> percent
    from_log: set[str] = field(default_factory=set)  # columns taken from the metric log


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------


def _first_json_line(path: str):
    try:
        for _, obj in read_jsonl(path):
            return obj
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def is_metric_log(path: str) -> bool:
    first = _first_json_line(path)
    return isinstance(first, dict) and isinstance(first.get("step"), int) and isinstance(first.get("data"), dict)


def read_metric_log(path: str) -> MetricLog:
    """Parse a ``file``-logger JSONL; numeric values only (NaN/None skipped)."""
    log = MetricLog(path)
    try:
        records = list(read_jsonl(path))
    except ValueError as e:
        raise ReportError(str(e)) from None
    for lineno, rec in records:
        if not isinstance(rec.get("data"), dict) or not isinstance(rec.get("step"), int):
            raise ReportError(f"{path}:{lineno}: expected {{'step': int, 'data': {{...}}}} (verl file logger)")
        step = rec["step"]
        for key, val in rec["data"].items():
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
                continue
            log.series.setdefault(key, []).append((step, float(val)))
    return log


def read_eval_json(path: str) -> dict | None:
    """The evaluation summary, or None if ``path`` is some other JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not valid JSON ({e.msg})") from None
    if not isinstance(obj, dict) or obj.get("schema") != EVAL_SCHEMA:
        return None
    if not isinstance(obj.get("benchmarks"), dict):
        raise ReportError(f"{path}: evaluation JSON without a 'benchmarks' object")
    return obj


def _scan(arg: str) -> tuple[list[tuple[str, dict]], list[MetricLog]]:
    if os.path.isfile(arg):
        paths = [arg]
    elif os.path.isdir(arg):
        paths = []
        for root, dirs, files in os.walk(arg):
            dirs.sort()
            paths.extend(os.path.join(root, f) for f in sorted(files) if f.endswith((".json", ".jsonl")))
    else:
        raise ReportError(f"run not found: {arg!r} (give a run folder, a metric log .jsonl or an eval .json)")
    evals, logs = [], []
    for p in paths:
        if p.endswith(".jsonl"):
            if is_metric_log(p):
                logs.append(read_metric_log(p))
            elif os.path.isfile(arg):
                raise ReportError(f"{p}: not a verl file-logger metric log")
        else:
            ev = read_eval_json(p)
            if ev is not None:
                evals.append((p, ev))
            elif os.path.isfile(arg):
                raise ReportError(f"{p}: not an rlsd_verl evaluation JSON (schema {EVAL_SCHEMA})")
    if not evals and not logs:
        raise ReportError(f"{arg}: no metric log (verl file logger .jsonl) or evaluation JSON found")
    evals.sort(key=lambda pe: ((pe[1].get("step") if isinstance(pe[1].get("step"), int) else -1), pe[0]))
    return evals, logs


def _parse_labels(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ReportError(f"--label {item!r}: expected KEY=NAME")
        key, name = item.split("=", 1)
        if not key or not name:
            raise ReportError(f"--label {item!r}: expected KEY=NAME")
        out[key] = name
    return out


def _column_of_data_source(ds: str) -> str | None:
    bench = benchmark_of(ds)
    for col, keys in COLUMN_SOURCES.items():
        if bench in keys:
            return col
    return None


def load_run(arg: str, labels: Mapping[str, str]) -> Run:
    evals, logs = _scan(arg)
    base = os.path.basename(os.path.normpath(arg))
    stem = os.path.splitext(base)[0]
    label = labels.get(arg) or labels.get(base) or labels.get(stem)
    if not label:
        names = [ev.get("name") for _, ev in evals if ev.get("name")]
        label = (names[-1] if names else None) or (logs[0].experiment if len(logs) == 1 else None) or stem
        label = labels.get(label, label)
    run = Run(arg=arg, label=label, evals=evals, logs=logs)
    # values from the evaluation JSONs (later = higher step wins)
    for _, ev in evals:
        for col, keys in COLUMN_SOURCES.items():
            for key in keys:
                entry = ev["benchmarks"].get(key)
                if isinstance(entry, dict) and isinstance(entry.get("acc"), (int, float)):
                    run.values[col] = 100.0 * float(entry["acc"])
                    break
    # fill the rest from the last logged validation accuracy
    for log in logs:
        latest: dict[str, tuple[int, int, float]] = {}  # column -> (step, pref, value)
        for key, pts in log.series.items():
            m = VAL_ACC.match(key)
            if not m or not pts:
                continue
            col = _column_of_data_source(m.group("ds"))
            if col is None or col in run.values:
                continue
            pref = -COLUMN_SOURCES[col].index(benchmark_of(m.group("ds")))  # prefer ZeroBench-sub
            step, val = max(pts, key=lambda sv: sv[0])
            if col not in latest or (step, pref) > latest[col][:2]:
                latest[col] = (step, pref, val)
        for col, (_, _, val) in latest.items():
            if col not in run.values:
                run.values[col] = 100.0 * val
                run.from_log.add(col)
    return run


# ----------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------


def average(values: Mapping[str, float]) -> tuple[float | None, int]:
    present = [values[c] for c in COLUMNS if c in values]
    return (sum(present) / len(present) if present else None), len(present)


def _fmt(v: float | None, mark: str = "") -> str:
    return DASH if v is None else f"{v:.2f}{mark}"


def paper_row_for(label: str) -> str | None:
    key = re.sub(r"[\s_\-]", "", label.lower())
    if key in PAPER_ALIASES:
        return PAPER_ALIASES[key]
    for name in PAPER_TABLE2:
        if re.sub(r"[\s_\-]", "", name.lower()) == key:
            return name
    return None


def results_table(runs: Sequence[Run]) -> str:
    head = "| Method | " + " | ".join(COLUMNS) + " | Avg. |"
    sep = "|---|" + "---:|" * (len(COLUMNS) + 1)
    lines = [head, sep]
    for run in runs:
        cells = [_fmt(run.values.get(c), "†" if c in run.from_log else "") for c in COLUMNS]
        avg, n = average(run.values)
        cells.append(_fmt(avg, "*" if avg is not None and n < len(COLUMNS) else ""))
        lines.append(f"| {run.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paper_table() -> str:
    head = "| Method | " + " | ".join(COLUMNS) + " | Avg. |"
    sep = "|---|" + "---:|" * (len(COLUMNS) + 1)
    lines = [head, sep]
    for name, row in PAPER_TABLE2.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.2f}" for c in (*COLUMNS, "Avg")) + " |")
    return "\n".join(lines)


def delta_table(runs: Sequence[Run]) -> str | None:
    rows = []
    for run in runs:
        paper = paper_row_for(run.label)
        if paper is None:
            continue
        ref = PAPER_TABLE2[paper]
        cells = []
        for c in COLUMNS:
            v = run.values.get(c)
            cells.append(DASH if v is None else f"{v - ref[c]:+.2f}")
        avg, n = average(run.values)
        if avg is None:
            cells.append(DASH)
        elif n == len(COLUMNS):
            cells.append(f"{avg - ref['Avg']:+.2f}")
        else:  # compare on the same benchmarks
            ref_avg = sum(ref[c] for c in COLUMNS if c in run.values) / n
            cells.append(f"{avg - ref_avg:+.2f}*")
        rows.append(f"| {run.label} vs {paper} | " + " | ".join(cells) + " |")
    if not rows:
        return None
    head = "| Run vs paper | " + " | ".join(COLUMNS) + " | Avg. |"
    return "\n".join([head, "|---|" + "---:|" * (len(COLUMNS) + 1), *rows])


# ----------------------------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------------------------


def _curve_sets(runs: Sequence[Run]):
    """[(run line label, MetricLog)] for every metric log of every run."""
    out = []
    for run in runs:
        for log in run.logs:
            name = run.label if len(run.logs) == 1 else f"{run.label}/{log.experiment}"
            out.append((name, log))
    return out


def _plot_panels(panels: Sequence[tuple[str, list[tuple[str, list[tuple[int, float]]]]]], title: str, ylabel: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    n = len(panels)
    ncols = min(3, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.6 * nrows), squeeze=False)
    for ax, (panel_title, lines) in zip(axes.flat, panels):
        for name, pts in lines:
            pts = sorted(pts)
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, label=name)
        ax.set_title(panel_title, fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _length_vs_accuracy(key: str) -> int | None:
    """Panel order of the response-length-beside-accuracy plot (None: not in it)."""
    if VAL_ACC.match(key):
        return 0
    order = ("failure/correct_frac", "response_length/mean", "failure/response_length_correct",
             "failure/response_length_wrong", "failure/truncated_frac")
    return 1 + order.index(key) if key in order else None


PLOTS = (
    ("length_vs_accuracy", "Response length next to accuracy (collapse check)", "value",
     lambda k: _length_vs_accuracy(k) is not None),
    ("val_acc", "Validation accuracy", "accuracy", lambda k: bool(VAL_ACC.match(k))),
    ("entropy", "Actor entropy (actor/entropy)", "entropy", lambda k: k == "actor/entropy"),
    ("response_length", "Mean response length (response_length/mean)", "tokens", lambda k: k == "response_length/mean"),
    ("rlsd", "RLSD metrics (rlsd/*)", "value", lambda k: k.startswith("rlsd/")),
    ("failure", "Failure-mode metrics (failure/*)", "value", lambda k: k.startswith("failure/")),
)


def plot_keys(name: str, keys) -> list[str]:
    """The metric keys of plot group ``name`` (:data:`PLOTS`) among ``keys``, in panel order."""
    pick = next(p for n, _, _, p in PLOTS if n == name)
    chosen = sorted(k for k in set(keys) if pick(k))
    if name == "length_vs_accuracy":
        chosen.sort(key=_length_vs_accuracy)  # accuracy first, then the lengths and the truncated share
    return chosen


def make_plots(runs: Sequence[Run], plots_dir: str) -> dict[str, str | None]:
    """Write one PNG per plot group that has data; return name -> path (None when no data)."""
    curves = _curve_sets(runs)
    out: dict[str, str | None] = {}
    for name, title, ylabel, pick in PLOTS:
        keys = plot_keys(name, {k for _, log in curves for k in log.series})
        panels = []
        for key in keys:
            lines = [(label, log.series[key]) for label, log in curves if log.series.get(key)]
            if lines:
                panel_title = key
                m = VAL_ACC.match(key)
                if m:
                    panel_title = f"{m.group('ds')} (mean@{m.group('n')})"
                panels.append((panel_title, lines))
        if not panels:
            out[name] = None
            continue
        path = os.path.join(plots_dir, f"{name}.png")
        atomic_write_bytes(path, _plot_panels(panels, title, ylabel))
        out[name] = path
    return out


# ----------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------


def build_report(runs: Sequence[Run], out_path: str, plots_dir: str | None = None) -> str:
    """Write the markdown report (and plots); return its text."""
    out_dir = os.path.dirname(os.path.abspath(out_path))
    plots_dir = plots_dir or os.path.join(out_dir, os.path.splitext(os.path.basename(out_path))[0] + "_plots")
    plots = make_plots(runs, plots_dir)

    parts = ["# RLSD reproduction report: Table 2", ""]
    parts += ["## This reproduction", "", results_table(runs), ""]
    notes = ["Accuracy in %. \"—\": benchmark not evaluated for this run."]
    if any(average(r.values)[1] < len(COLUMNS) and r.values for r in runs):
        notes.append("`*`: average over the benchmarks present only (fewer than five), not comparable to the paper's Avg.")
    if any(r.from_log for r in runs):
        notes.append("`†`: taken from the run's last logged validation accuracy (`val-core/<data_source>/acc/mean@N`), "
                     "not from an evaluation JSON.")
    if any("ZeroBench-sub" in ev["benchmarks"] for r in runs for _, ev in r.evals):
        notes.append("ZeroBench: sub-question set (`ZeroBench-sub`) where evaluated.")
    notes.append("WeMath: plain accuracy (not WeMath's strict/loose four-dimensional score).")
    parts += [f"- {n}" for n in notes] + [""]

    parts += ["## Paper", "", f"Source: {PAPER_SOURCE}.", "", paper_table(), ""]
    delta = delta_table(runs)
    if delta:
        parts += ["## Difference to the paper (percentage points)", "", delta, "",
                  "- Rows whose label names a paper method (`--label`). `*`: the paper's average over the same "
                  "benchmarks as the run's.", ""]

    parts += ["## Training curves", ""]
    for name, title, _, _ in PLOTS:
        path = plots.get(name)
        if path is None:
            parts.append(f"- {title}: no data in the metric logs.")
        else:
            rel = os.path.relpath(path, out_dir)
            parts += [f"### {title}", "", f"![{title}]({rel})", ""]
    parts += ["", "## Inputs", ""]
    for run in runs:
        files = [p for p, _ in run.evals] + [log.path for log in run.logs]
        parts.append(f"- **{run.label}** (`{run.arg}`): " + ", ".join(f"`{os.path.relpath(f, out_dir)}`" for f in files))
    text = "\n".join(parts).rstrip() + "\n"
    atomic_write_text(out_path, text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="rlsd-verl-report", description="Table 2 report (markdown + PNG plots) from runs' "
                                "metric logs and evaluation JSONs.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folder, verl file-logger .jsonl, or evaluation .json")
    p.add_argument("--out", required=True, help="markdown report path (written atomically)")
    p.add_argument("--label", action="append", default=[], metavar="KEY=NAME",
                   help="row name for a run (KEY: the RUN argument, its base name, or its default label); repeatable")
    p.add_argument("--plots-dir", default=None, help="folder for the PNGs (default: <out stem>_plots beside --out)")
    args = p.parse_args(argv)
    try:
        labels = _parse_labels(args.label)
        runs = [load_run(arg, labels) for arg in args.runs]
        build_report(runs, args.out, args.plots_dir)
    except (ReportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(results_table(runs))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
