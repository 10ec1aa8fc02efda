"""The conversion loop shared by every builder: stream source rows, convert, verify, write, summarise.

A builder supplies ``convert(raw_row, where, ctx) -> row | None``:

* it returns a :data:`~rlsd_verl.data.schema.FEATURES` row (its ``extra_info.index`` is overwritten
  with the running index of the output file);
* ``None`` means "not selected" (e.g. ``--subjects``), counted as ``not_selected``;
* :class:`DropRow` is a row the dataset's rules filter out by design (training sets: gold not
  rule-verifiable, ``<image>`` count mismatch, ...) - always counted per reason, never an error;
* :class:`BadRowError` / :class:`~rlsd_verl.data.images.BadImageError` is broken input (a corrupt
  image, a gold letter outside the options, a placeholder pointing at a null image column). The scan
  goes on; every such row is printed and listed, and the build then fails naming them all unless
  ``skip_bad`` (then the rest is written).

Every row that is not written is listed, with its location, id, reason and message, in
``<name>_<split>.problems.jsonl`` beside the summary: nothing is lost silently.

:func:`run_build` writes through :class:`~rlsd_verl.data.schema.ParquetSink` (atomic), checks the
full-split row counts against the known ones before committing (a mismatch aborts: no output file),
and returns a summary dict (rows, multiple choice / free form, images, drops with reasons, notes about
quirks handled) that the CLIs print and save as ``<name>.summary.json``. :class:`DatasetSpec` is one
row of the builders' table (what differs between datasets) and :func:`build_dataset` the one build
path every builder runs through.
"""

from __future__ import annotations

import functools
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlsd_verl.data.images import BadImageError, prepare_image
from rlsd_verl.data.schema import MULTIPLE_CHOICE, ParquetSink
from rlsd_verl.data.sources import Source
from rlsd_verl.utils.io import atomic_write_json, atomic_write_jsonl

MAX_EXAMPLES = 5


class BadRowError(ValueError):
    """A source row breaks one of the dataset's rules (message names the row)."""


class DropRow(Exception):
    """A row filtered out by design; ``reason`` is the key it is counted under."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class CountMismatchError(ValueError):
    """A full split does not have the known number of rows / question types."""


@dataclass
class Expected:
    total: int
    multiple_choice: int | None = None
    free_form: int | None = None

    def as_dict(self) -> dict:
        return {"total": self.total, "multiple_choice": self.multiple_choice, "free_form": self.free_form}


@dataclass
class BuildContext:
    """Per-build settings and counters handed to ``convert``."""

    prompt_style: str = "rlsd"
    max_pixels: int | None = None
    base_dirs: list[str] = field(default_factory=list)
    row_number: int = 0  # 0-based position of the current row in the source (for generated ids)
    notes: Counter = field(default_factory=Counter)
    images_seen: int = 0
    images_resized: int = 0
    images_reencoded: int = 0

    def image(self, value: Any, what: str) -> bytes:
        """Verified RGB bytes of one image (pixel-capped); raises BadImageError naming ``what``."""
        last: BadImageError | None = None
        bases = self.base_dirs or [None]
        for base in bases:
            try:
                img = prepare_image(value, max_pixels=self.max_pixels, base_dir=base, what=what)
                break
            except BadImageError as e:
                last = e
                if not isinstance(value, (str, os.PathLike)):
                    raise
        else:
            assert last is not None
            raise last
        self.images_seen += 1
        self.images_resized += img.resized
        self.images_reencoded += img.converted
        return img.data

    def note(self, key: str, n: int = 1) -> None:
        self.notes[key] += n


def _row_id(raw: Mapping, id_keys=("id", "pid", "ID", "question_id")) -> str | None:
    for k in id_keys:
        if isinstance(raw, Mapping) and raw.get(k) not in (None, ""):
            return str(raw[k])
    return None


# ------------------------------------------------------------------ per-row conversion (also in workers)
def _convert_one(convert, ctx: BuildContext, n: int, where: str, raw: dict) -> tuple:
    """Run ``convert`` on one row; returns ``(kind, payload)`` with kind ok / none / drop / bad."""
    ctx.row_number = n
    try:
        row = convert(raw, where, ctx)
    except DropRow as e:
        return "drop", (e.reason, e.detail)
    except (BadRowError, BadImageError) as e:
        return "bad", ("bad_image" if isinstance(e, BadImageError) else "bad_row", type(e).__name__, str(e))
    return ("none", None) if row is None else ("ok", row)


_WORKER: tuple | None = None


def _worker_init(convert, settings: dict) -> None:
    global _WORKER
    _WORKER = (convert, settings)


def _worker_run(task: tuple) -> tuple:
    """Convert one row in a worker process; also returns the notes / image counters it produced."""
    convert, settings = _WORKER
    ctx = BuildContext(**settings)
    n, where, raw = task
    kind, payload = _convert_one(convert, ctx, n, where, raw)
    return kind, payload, dict(ctx.notes), (ctx.images_seen, ctx.images_resized, ctx.images_reencoded)


def _results(source: Source, convert, ctx: BuildContext, workers: int):
    """Yield ``(n, where, raw_id, kind, payload)`` in source order, converting in ``workers`` processes."""
    rows = ((n, where, raw) for n, (where, raw) in enumerate(source.iter_rows()))
    if workers <= 1:
        for n, where, raw in rows:
            rid = _row_id(raw)
            label = f"{where} (id={rid})" if rid is not None else where
            yield n, where, rid, *_convert_one(convert, ctx, n, label, raw)
        return
    import itertools
    import multiprocessing as mp

    settings = dict(prompt_style=ctx.prompt_style, max_pixels=ctx.max_pixels, base_dirs=list(ctx.base_dirs))
    pool = mp.get_context("spawn").Pool(workers, initializer=_worker_init, initargs=(convert, settings))
    try:
        batch_size = workers * 8  # bounded read-ahead: never more than this many rows in flight
        while True:
            batch = list(itertools.islice(rows, batch_size))
            if not batch:
                break
            tasks, ids = [], []
            for n, where, raw in batch:
                rid = _row_id(raw)
                ids.append(rid)
                tasks.append((n, f"{where} (id={rid})" if rid is not None else where, raw))
            for (n, where, _), rid, (kind, payload, notes, imgs) in zip(
                    batch, ids, pool.map(_worker_run, tasks, chunksize=max(1, len(tasks) // (workers * 2)))):
                ctx.notes.update(notes)
                ctx.images_seen += imgs[0]
                ctx.images_resized += imgs[1]
                ctx.images_reencoded += imgs[2]
                yield n, where, rid, kind, payload
    finally:
        pool.terminate()
        pool.join()


def _problems_path(summary_path: str | None, outputs: Mapping[str, str], name: str) -> str:
    if summary_path:
        base = summary_path[: -len(".summary.json")] if summary_path.endswith(".summary.json") else summary_path
        return base + ".problems.jsonl"
    first = next(iter(outputs.values()))
    return os.path.join(os.path.dirname(os.path.abspath(first)), f"{name}.problems.jsonl")


def _report_rows(problems: list[dict], limit: int = 20) -> str:
    lines = [f"  - {p['where']}: [{p['reason']}] {p['message']}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    return "\n".join(lines)


def run_build(
    *,
    name: str,
    source: Source,
    convert: Callable[[dict, str, BuildContext], dict | None],
    outputs: Mapping[str, str],
    ctx: BuildContext,
    route: Callable[[dict], str] | None = None,
    expected: Expected | None = None,
    enforce_expected: bool = True,
    limit: int | None = None,
    skip_bad: bool = False,
    progress: bool = True,
    workers: int = 1,
    summary_path: str | None = None,
    extra_summary: Mapping[str, Any] | None = None,
) -> dict:
    """Convert every row of ``source`` and write the outputs atomically; return the summary dict.

    ``outputs`` maps an output key to a parquet path (one key for most builders; ``route(row)`` picks
    the key when there are several). ``limit`` caps the number of rows written (in total). With
    ``workers > 1`` converts rows in that many spawned processes (``convert`` must then be picklable,
    e.g. a ``functools.partial`` of a module-level function); rows keep the source order.

    One odd row never stops the scan: every row that is not written (broken input, duplicate id,
    dropped by a dataset rule) is recorded with its location, id, reason and message in
    ``<summary>.problems.jsonl`` next to the summary, and the broken ones are printed to stderr. At the
    end, broken rows fail the build (:class:`BadRowError` listing them; nothing is written) unless
    ``skip_bad``. With ``expected`` and ``enforce_expected``, the known total / MC / free-form counts
    must hold (with ``skip_bad``, written + skipped rows must make the known total), else
    :class:`CountMismatchError` and nothing is written.
    """
    import sys

    from tqdm.auto import tqdm

    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be >= 1, got {limit}")
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if len(outputs) > 1 and route is None:
        raise ValueError("several outputs need a route function")
    ctx.base_dirs = ctx.base_dirs or list(source.base_dirs)
    t0 = time.time()
    problems_path = _problems_path(summary_path, outputs, name)
    sinks = {key: ParquetSink(path) for key, path in outputs.items()}
    counts = Counter()
    per_output = Counter()
    dropped, dropped_examples = Counter(), {}
    skipped, skipped_examples = Counter(), {}
    problems: list[dict] = []  # every row not written, in source order
    bad: list[dict] = []
    seen_ids: dict[str, str] = {}
    n_mc = n_ff = n_img = 0

    def record_bad(where: str, rid: str | None, reason: str, msg: str) -> None:
        entry = {"where": where, "id": rid, "kind": "bad", "reason": reason, "message": msg}
        problems.append(entry)
        bad.append(entry)
        skipped[reason] += 1
        ex = skipped_examples.setdefault(reason, [])
        if len(ex) < MAX_EXAMPLES:
            ex.append(msg)
        print(f"{name}: cannot convert {where}: [{reason}] {msg}", file=sys.stderr)

    try:
        try:
            total = source.num_rows()
        except Exception:  # noqa: BLE001 - only for the progress bar
            total = None
        bar = tqdm(total=total, desc=f"{name}", unit="row", disable=not progress, dynamic_ncols=True)
        for n, where, rid, kind, payload in _results(source, convert, ctx, workers):
            bar.update(1)
            counts["source_rows"] += 1
            label = f"{where} (id={rid})" if rid is not None else where
            if kind == "drop":
                reason, detail = payload
                dropped[reason] += 1
                ex = dropped_examples.setdefault(reason, [])
                if len(ex) < MAX_EXAMPLES:
                    ex.append(rid if rid is not None else where)
                problems.append({"where": where, "id": rid, "kind": "dropped", "reason": reason, "message": detail})
                continue
            if kind == "bad":
                reason, _etype, msg = payload
                record_bad(where, rid, reason, msg)
                continue
            if kind == "none":
                counts["not_selected"] += 1
                continue
            row = payload
            key = route(row) if route is not None else next(iter(outputs))
            ex = row["extra_info"]
            if ex["id"] in seen_ids:
                record_bad(where, rid, "duplicate_id",
                           f"{label}: duplicate id {ex['id']!r} (first seen at {seen_ids[ex['id']]})")
                continue
            seen_ids[ex["id"]] = where
            ex["index"] = per_output[key]
            sinks[key].add(row)
            per_output[key] += 1
            n_img += len(row["images"])
            if ex["question_type"] == MULTIPLE_CHOICE:
                n_mc += 1
            else:
                n_ff += 1
            if limit is not None and sum(per_output.values()) >= limit:
                counts["stopped_at_limit"] = 1
                break
        bar.close()
        if problems:
            atomic_write_jsonl(problems_path, problems)
        elif os.path.exists(problems_path):
            os.remove(problems_path)  # a stale report of an earlier run
        n_rows = sum(per_output.values())
        if bad and not skip_bad:
            cls = BadImageError if all(b["reason"] == "bad_image" for b in bad) else BadRowError
            raise cls(
                f"{name}: {len(bad)} row(s) of {source.describe()} could not be converted; nothing was "
                f"written (all {len(problems)} unwritten rows are listed in {problems_path}; use --skip-bad "
                f"to write the rest):\n{_report_rows(bad)}")
        check = "not applicable"
        if expected is not None:
            if not enforce_expected:
                check = "skipped (subset requested)"
            else:
                problems_found = []
                n_skipped = len(bad)
                if n_rows + n_skipped != expected.total:
                    problems_found.append(f"{n_rows} rows" + (f" + {n_skipped} skipped" if n_skipped else "")
                                          + f", expected {expected.total}")
                if not n_skipped:
                    if expected.multiple_choice is not None and n_mc != expected.multiple_choice:
                        problems_found.append(f"{n_mc} multiple-choice, expected {expected.multiple_choice}")
                    if expected.free_form is not None and n_ff != expected.free_form:
                        problems_found.append(f"{n_ff} free-form, expected {expected.free_form}")
                if problems_found:
                    raise CountMismatchError(
                        f"{name}: the full split does not have the known counts: {'; '.join(problems_found)} "
                        f"(input {source.describe()}; skipped {dict(skipped)}, dropped {dict(dropped)}). "
                        "Nothing was written. Check the input, or pass --limit/--subjects for a subset "
                        "(or --allow-count-mismatch)."
                    )
                check = "passed" if not n_skipped else (
                    f"passed on the source's total ({n_rows} written + {n_skipped} skipped, listed in "
                    f"{problems_path})")
        if n_rows == 0:
            raise BadRowError(f"{name}: no rows were produced from {source.describe()} "
                              f"(skipped {dict(skipped)}, dropped {dict(dropped)}); nothing was written")
        for key, sink in sinks.items():
            if per_output[key] == 0:
                sink.abort()
            else:
                sink.commit()
    except BaseException:
        for sink in sinks.values():
            sink.abort()
        raise
    summary = {
        "dataset": name,
        "split": source.split,
        "input": source.describe(),
        "outputs": {k: outputs[k] for k in outputs if per_output[k] > 0},
        "rows": n_rows,
        "rows_per_output": {k: per_output[k] for k in outputs},
        "multiple_choice": n_mc,
        "free_form": n_ff,
        "images": n_img,
        "images_resized": ctx.images_resized,
        "images_reencoded": ctx.images_reencoded,
        "source_rows_read": counts["source_rows"],
        "not_selected": counts["not_selected"],
        "stopped_at_limit": bool(counts["stopped_at_limit"]),
        "dropped": dict(dropped),
        "dropped_total": sum(dropped.values()),
        "dropped_examples": dropped_examples,
        "skipped_bad": dict(skipped),
        "skipped_bad_total": sum(skipped.values()),
        "skipped_bad_examples": skipped_examples,
        "problems_path": problems_path if problems else None,
        "notes": dict(ctx.notes),
        "expected": expected.as_dict() if expected else None,
        "count_check": check,
        "prompt_style": ctx.prompt_style,
        "max_pixels": ctx.max_pixels,
        "seconds": round(time.time() - t0, 2),
        "workers": workers,
    }
    if extra_summary:
        summary.update(extra_summary)
    if summary_path:
        atomic_write_json(summary_path, summary)
        summary["summary_path"] = summary_path
    return summary


@dataclass(frozen=True)
class DatasetSpec:
    """One row of the builders' table: everything that differs between two datasets' builds.

    ``convert(raw, where, ctx, *, split, prompt_style, **convert_kwargs)`` turns one source row into a
    :data:`FEATURES` row. ``expected`` holds the known counts per split (empty: no fixed size).
    ``patterns`` / ``json_names`` / ``disk_subdirs`` locate a split under ``--input`` (see
    :func:`~rlsd_verl.data.sources.resolve_input`); ``allow_patterns`` are the hub files ``--from-hub``
    downloads (``{split}`` is filled in); ``image_subdirs`` are extra folders (relative to the
    source's) that relative image paths are resolved against.
    """

    name: str
    description: str
    repo_id: str
    splits: tuple[str, ...]
    default_split: str
    convert: Callable[..., dict | None]
    expected: Mapping[str, Expected] = field(default_factory=dict)
    patterns: tuple[str, ...] = ("data/{split}-*.parquet", "{split}-*.parquet")
    json_names: tuple[str, ...] = ()
    disk_subdirs: bool = False
    allow_patterns: tuple[str, ...] = ("data/{split}-*.parquet",)
    image_subdirs: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    split_note: str = ""

    def resolve_split(self, split: str | None) -> str:
        split = self.aliases.get(split, split) if split is not None else self.default_split
        if split not in self.splits:
            alias = f" (or {sorted(self.aliases)})" if self.aliases else ""
            note = f" ({self.split_note})" if self.split_note else ""
            raise ValueError(f"{self.name} split must be one of {self.splits}{alias}{note}, got {split!r}")
        return split


def build_dataset(
    spec: DatasetSpec,
    *,
    input=None,
    split: str | None = None,
    output_dir: str,
    limit: int | None = None,
    prompt_style: str = "rlsd",
    max_pixels: int | None = None,
    skip_bad: bool = False,
    allow_count_mismatch: bool = False,
    progress: bool = True,
    workers: int = 1,
    from_hub: bool = False,
    hub_dir: str | None = None,
    revision: str | None = None,
    convert_kwargs: Mapping[str, Any] | None = None,
    allow_patterns: Sequence[str] | None = None,
    subset: bool = False,
    outputs: Mapping[str, str] | None = None,
    route: Callable[[dict], str] | None = None,
    summary_name: str | None = None,
    extra_summary: Mapping[str, Any] | None = None,
) -> dict:
    """The one build path of every dataset: open the source, convert, check, write, summarise.

    Writes ``<output_dir>/<name>_<split>.parquet`` and ``<name>_<split>.summary.json`` (or the given
    ``outputs`` / ``route`` / ``summary_name``). The known counts of ``spec.expected[split]`` are
    enforced unless ``limit`` is set, ``subset`` is true (the builder selected part of the split, e.g.
    MMMU's ``--subjects``) or ``allow_count_mismatch``.
    """
    from rlsd_verl.data.sources import open_source

    split = spec.resolve_split(split)
    source = open_source(input=input, split=split, patterns=spec.patterns, json_names=spec.json_names,
                         disk_subdirs=spec.disk_subdirs, from_hub=from_hub, repo_id=spec.repo_id,
                         allow_patterns=[p.format(split=split) for p in (allow_patterns or spec.allow_patterns)],
                         hub_dir=hub_dir, revision=revision)
    base_dirs = list(source.base_dirs) + [os.path.join(b, d) for d in spec.image_subdirs for b in source.base_dirs]
    convert = functools.partial(spec.convert, split=split, prompt_style=prompt_style, **(convert_kwargs or {}))
    stem = f"{spec.name}_{split}"
    return run_build(
        name=spec.name,
        source=source,
        convert=convert,
        outputs=outputs or {split: os.path.join(output_dir, f"{stem}.parquet")},
        route=route,
        ctx=BuildContext(prompt_style=prompt_style, max_pixels=max_pixels, base_dirs=base_dirs),
        expected=spec.expected.get(split),
        enforce_expected=limit is None and not subset and not allow_count_mismatch,
        limit=limit,
        skip_bad=skip_bad,
        progress=progress,
        workers=workers,
        summary_path=os.path.join(output_dir, f"{summary_name or stem}.summary.json"),
        extra_summary=extra_summary,
    )


def format_summary(s: Mapping[str, Any]) -> str:
    """A short human-readable version of a :func:`run_build` summary."""
    lines = [
        f"== {s['dataset']} [{s['split']}] from {s['input']}",
        f"   rows written: {s['rows']} (multiple choice {s['multiple_choice']}, free form {s['free_form']}), "
        f"images {s['images']} (resized {s['images_resized']}, re-encoded {s['images_reencoded']})",
        f"   source rows read: {s['source_rows_read']}, not selected: {s['not_selected']}"
        + (", stopped at --limit" if s.get("stopped_at_limit") else ""),
        f"   dropped: {s['dropped_total']} {s['dropped'] or ''}",
        f"   skipped bad (--skip-bad): {s['skipped_bad_total']} {s['skipped_bad'] or ''}",
        *([f"   every unwritten row, with its reason: {s['problems_path']}"] if s.get("problems_path") else []),
        f"   count check: {s['count_check']}" + (f" (expected {s['expected']})" if s.get("expected") else ""),
    ]
    if s.get("notes"):
        lines.append(f"   notes: {s['notes']}")
    for key, path in s["outputs"].items():
        lines.append(f"   -> {path}" + (f" [{key}: {s['rows_per_output'][key]} rows]" if len(s["outputs"]) > 1 else ""))
    if s.get("summary_path"):
        lines.append(f"   summary: {s['summary_path']}")
    return "\n".join(lines)
