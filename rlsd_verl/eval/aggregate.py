"""Aggregate verl's validation dump into per-benchmark accuracy (with per-subject breakdowns).

Input: the folder given as ``trainer.validation_data_dir`` (verl writes ``<global_step>.jsonl`` there,
one line per response, from ``PPOTrainer._write_generations``) or one such file. Each line holds
``input``, ``output``, ``gts``, ``score``, ``step``, every key that the reward function returned
(``rlsd_verl.rewards.compute_score``: ``acc``, ``format``, ``timeout``, ``pred``, ``benchmark``,
``data_source``, ``subject``, ``sample_id``, ...) and ``uid`` = ``<prompt uid>_<session>_<index>``.

Accuracy follows verl's ``val-core/<data_source>/acc/mean@N``: the mean ``acc`` of each question's
responses, averaged over questions (with one response per question: correct / total). Rows without
``acc`` use ``score`` (reported as ``"metric": "score"``).

Subjects come from the dump's ``subject`` field; for dumps without it, ``--data-files`` reads the
benchmark parquet files and joins on ``(data_source, sample_id)`` = ``(data_source, extra_info.id)``.

Output (written atomically; schema ``rlsd_verl.eval/v1``)::

    {"schema": "rlsd_verl.eval/v1", "name": ..., "model": ..., "dump": ..., "step": 0,
     "n_rows": ..., "benchmarks": {"MMMU": {"acc": 0.62, "n_questions": 900, "n_responses": 900,
        "metric": "acc", "data_sources": ["MMMU/MMMU"], "format_rate": .., "timeout_rate": ..,
        "no_answer_rate": .., "by_subject": {"Art": {"acc": .., "n_questions": ..}, ...},
        "by_domain": {...}}, ...},
     "data_sources": {"MMMU/MMMU": {... same fields, without breakdowns ...}}}

CLI::

    python -m rlsd_verl.eval.aggregate VAL_DUMP_DIR_OR_FILE --out eval.json [--step N]
        [--name RUN_NAME] [--model MODEL] [--data-files a.parquet b.parquet ...]
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rlsd_verl.utils.io import atomic_write_json, read_jsonl

SCHEMA = "rlsd_verl.eval/v1"

# MMMU's official domain -> subjects (``DOMAIN_CAT2SUB_CAT`` in mmmu/utils/data_utils.py)
MMMU_DOMAINS = {
    "Art and Design": ["Art", "Art_Theory", "Design", "Music"],
    "Business": ["Accounting", "Economics", "Finance", "Manage", "Marketing"],
    "Science": ["Biology", "Chemistry", "Geography", "Math", "Physics"],
    "Health and Medicine": ["Basic_Medical_Science", "Clinical_Medicine", "Diagnostics_and_Laboratory_Medicine",
                            "Pharmacy", "Public_Health"],
    "Humanities and Social Science": ["History", "Literature", "Sociology", "Psychology"],
    "Tech and Engineering": ["Agriculture", "Architecture_and_Engineering", "Computer_Science", "Electronics",
                             "Energy_and_Power", "Materials", "Mechanical_Engineering"],
}
_SUBJECT_TO_DOMAIN = {s: d for d, subs in MMMU_DOMAINS.items() for s in subs}
BREAKDOWN_BENCHMARKS = ("MMMU", "MathVision")


def find_dump(path: str, step: int | None = None) -> tuple[str, int | None]:
    """The dump file: ``path`` itself, or ``<path>/<step>.jsonl`` (default: the highest step)."""
    if os.path.isfile(path):
        stem = os.path.splitext(os.path.basename(path))[0]
        return path, int(stem) if stem.lstrip("-").isdigit() else None
    if not os.path.isdir(path):
        raise FileNotFoundError(f"validation dump not found: {path!r} (give trainer.validation_data_dir or a .jsonl)")
    steps = {}
    for f in glob.glob(os.path.join(path, "*.jsonl")):
        stem = os.path.splitext(os.path.basename(f))[0]
        if stem.lstrip("-").isdigit():
            steps[int(stem)] = f
    if not steps:
        raise FileNotFoundError(f"no <step>.jsonl validation dump in {path!r}")
    if step is None:
        step = max(steps)
    if step not in steps:
        raise FileNotFoundError(f"no dump for step {step} in {path!r}; steps present: {sorted(steps)}")
    return steps[step], step


def subjects_from_parquet(files: Sequence[str]) -> dict[tuple[str, str], str]:
    """``(data_source, sample_id) -> subject`` from benchmark parquet files (``extra_info.id`` and
    ``extra_info.index`` are both accepted as ``sample_id``)."""
    import pyarrow.parquet as pq

    out: dict[tuple[str, str], str] = {}
    for f in files:
        try:
            table = pq.read_table(f, columns=["data_source", "extra_info"])
        except Exception as e:  # noqa: BLE001 - report the bad file by name
            raise ValueError(f"{f}: cannot read data_source/extra_info from parquet ({e})") from e
        for ds, extra in zip(table.column("data_source").to_pylist(), table.column("extra_info").to_pylist()):
            if not isinstance(extra, Mapping):
                continue
            subject = str(extra.get("subject") or "")
            for key in ("id", "index"):
                if extra.get(key) is not None and str(extra.get(key)) != "":
                    out.setdefault((str(ds), str(extra[key])), subject)
    return out


def _question_key(row: Mapping, lineno: int) -> str:
    uid = row.get("uid")
    if isinstance(uid, str) and uid:
        parts = uid.rsplit("_", 2)
        return parts[0] if len(parts) == 3 else uid
    sid = row.get("sample_id")
    if sid not in (None, ""):
        return f"sample:{sid}"
    return f"line:{lineno}"


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    return None


class _Group:
    def __init__(self) -> None:
        self.q: dict[str, list[float]] = defaultdict(list)
        self.n_rows = 0
        self.fmt: list[float] = []
        self.timeouts = 0
        self.no_answer = 0
        self.metric = "acc"
        self.sources: set[str] = set()

    def add(self, qkey: str, value: float, row: Mapping) -> None:
        self.q[qkey].append(value)
        self.n_rows += 1
        f = _num(row.get("format"))
        if f is not None:
            self.fmt.append(f)
        if _num(row.get("timeout")) == 1.0:
            self.timeouts += 1
        if "pred" in row and not str(row.get("pred") or "").strip():
            self.no_answer += 1

    def summary(self) -> dict:
        per_q = [sum(v) / len(v) for v in self.q.values()]
        acc = sum(per_q) / len(per_q) if per_q else 0.0
        out = {
            "acc": acc,
            "n_questions": len(per_q),
            "n_responses": self.n_rows,
            "metric": self.metric,
            "timeout_rate": self.timeouts / self.n_rows if self.n_rows else 0.0,
            "no_answer_rate": self.no_answer / self.n_rows if self.n_rows else 0.0,
        }
        if self.fmt:
            out["format_rate"] = sum(self.fmt) / len(self.fmt)
        return out


def aggregate_rows(rows: Iterable[tuple[int, Mapping]], subjects: Mapping[tuple[str, str], str] | None = None) -> dict:
    """Aggregate dump rows ``(line_number, row)`` into ``{"benchmarks": ..., "data_sources": ...}``."""
    from rlsd_verl.rewards.scoring import benchmark_of

    by_bench: dict[str, _Group] = defaultdict(_Group)
    by_source: dict[str, _Group] = defaultdict(_Group)
    by_subject: dict[str, dict[str, _Group]] = defaultdict(lambda: defaultdict(_Group))
    n_rows = 0
    for lineno, row in rows:
        n_rows += 1
        ds = str(row.get("data_source") or "unknown")
        bench = str(row.get("benchmark") or benchmark_of(ds))
        value = _num(row.get("acc"))
        metric = "acc"
        if value is None:
            value, metric = _num(row.get("score")), "score"
        if value is None:
            raise ValueError(f"dump line {lineno}: neither a numeric 'acc' nor 'score' (keys: {sorted(row)[:20]})")
        qkey = f"{ds}\x00{_question_key(row, lineno)}"
        for group in (by_bench[bench], by_source[ds]):
            group.add(qkey, value, row)
            group.sources.add(ds)
            if metric == "score":
                group.metric = "score"
        subject = str(row.get("subject") or "")
        if not subject and subjects:
            subject = subjects.get((ds, str(row.get("sample_id") or "")), "")
        if subject:
            by_subject[bench][subject].add(qkey, value, row)

    benchmarks = {}
    for bench, group in sorted(by_bench.items()):
        entry = group.summary()
        entry["data_sources"] = sorted(group.sources)
        subj = by_subject.get(bench)
        if subj:
            entry["by_subject"] = {s: _brief(g) for s, g in sorted(subj.items())}
            if bench == "MMMU":
                entry["by_domain"] = _mmmu_domains(subj)
        elif bench in BREAKDOWN_BENCHMARKS:
            entry["by_subject"] = {}
        benchmarks[bench] = entry
    sources = {ds: group.summary() for ds, group in sorted(by_source.items())}
    return {"n_rows": n_rows, "benchmarks": benchmarks, "data_sources": sources}


def _brief(group: _Group) -> dict:
    s = group.summary()
    return {"acc": s["acc"], "n_questions": s["n_questions"], "n_responses": s["n_responses"]}


def _mmmu_domains(subjects: Mapping[str, _Group]) -> dict:
    """Instance-weighted (micro) accuracy per MMMU domain, as the official ``calculate_ins_level_acc``."""
    out = {}
    for domain, subs in MMMU_DOMAINS.items():
        vals = [sum(v) / len(v) for s in subs if s in subjects for v in subjects[s].q.values()]
        if vals:
            out[domain] = {"acc": sum(vals) / len(vals), "n_questions": len(vals)}
    other = [s for s in subjects if s not in _SUBJECT_TO_DOMAIN]
    if other:
        vals = [sum(v) / len(v) for s in other for v in subjects[s].q.values()]
        out["(other subjects)"] = {"acc": sum(vals) / len(vals), "n_questions": len(vals)}
    return out


def aggregate(dump: str, *, step: int | None = None, data_files: Sequence[str] = (), name: str | None = None,
              model: str | None = None) -> dict:
    """Read a validation dump (folder or file) and return the evaluation summary dict."""
    path, found_step = find_dump(dump, step)
    subjects = subjects_from_parquet(data_files) if data_files else None
    rows = list(read_jsonl(path))
    if not rows:
        raise ValueError(f"{path}: the validation dump is empty")
    result = aggregate_rows(rows, subjects)
    return {
        "schema": SCHEMA,
        "name": name or "",
        "model": model or "",
        "dump": path,
        "step": found_step,
        **result,
    }


def format_summary(summary: Mapping) -> str:
    lines = [f"{'benchmark':<16} {'acc %':>7} {'questions':>9} {'responses':>9}"]
    for bench, e in summary["benchmarks"].items():
        lines.append(f"{bench:<16} {100 * e['acc']:7.2f} {e['n_questions']:9d} {e['n_responses']:9d}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rlsd_verl.eval.aggregate", description=__doc__.split("\n\n")[0])
    p.add_argument("dump", help="trainer.validation_data_dir (folder of <step>.jsonl) or one dump .jsonl file")
    p.add_argument("--out", required=True, help="output JSON path (written atomically)")
    p.add_argument("--step", type=int, default=None, help="dump step to read (default: the highest present)")
    p.add_argument("--name", default=None, help="run/method name stored in the JSON (used by the report)")
    p.add_argument("--model", default=None, help="model path or name stored in the JSON")
    p.add_argument("--data-files", nargs="*", default=[],
                   help="benchmark parquet files, to look up subjects for dumps without a 'subject' field")
    args = p.parse_args(argv)
    try:
        summary = aggregate(args.dump, step=args.step, data_files=args.data_files, name=args.name, model=args.model)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    atomic_write_json(args.out, summary)
    print(format_summary(summary))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
