"""The conversion loop shared by every builder: stream source rows, convert, verify, write, summarise.

A builder supplies ``convert(raw_row, where, ctx) -> row | None``:

* it returns a :data:`~rlsd_verl.data.schema.FEATURES` row (its ``extra_info.index`` is overwritten
  with the running index of the output file);
* ``None`` means "not selected" (e.g. ``--subjects``), counted as ``not_selected``;
* :class:`DropRow` is a row the dataset's rules filter out by design (training sets: gold not
  rule-verifiable, ``<image>`` count mismatch, ...) - always counted per reason, never an error;
* :class:`BadRowError` / :class:`~rlsd_verl.data.images.BadImageError` is broken input (a corrupt
  image, a gold letter outside the options, a placeholder pointing at a null image column): an error
  naming the row unless ``skip_bad`` (then counted per reason and the row skipped).

:func:`run_build` writes through :class:`~rlsd_verl.data.schema.ParquetSink` (atomic), checks the
full-split row counts against the known ones before committing (a mismatch aborts: no output file),
and returns a summary dict (rows, multiple choice / free form, images, drops with reasons, notes about
quirks handled) that the CLIs print and save as ``<name>.summary.json``. :func:`build_split` is
:func:`run_build` for the builders that write one split to one file (all but MMFineReason).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlsd_verl.data.images import BadImageError, prepare_image
from rlsd_verl.data.schema import MULTIPLE_CHOICE, ParquetSink, default_file_mode
from rlsd_verl.data.sources import Source

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
        return "drop", e.reason
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


def write_json_atomic(obj: Any, path: str) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False, sort_keys=False)
            f.write("\n")
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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
    e.g. a ``functools.partial`` of a module-level function); rows keep the source order. With
    ``expected`` and ``enforce_expected``, a mismatch in the total / MC / free-form counts raises
    :class:`CountMismatchError` and nothing is written.
    """
    from tqdm.auto import tqdm

    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be >= 1, got {limit}")
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if len(outputs) > 1 and route is None:
        raise ValueError("several outputs need a route function")
    ctx.base_dirs = ctx.base_dirs or list(source.base_dirs)
    t0 = time.time()
    sinks = {key: ParquetSink(path) for key, path in outputs.items()}
    counts = Counter()
    per_output = Counter()
    dropped, dropped_examples = Counter(), {}
    skipped, skipped_examples = Counter(), {}
    seen_ids: dict[str, str] = {}
    n_mc = n_ff = n_img = 0
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
                dropped[payload] += 1
                ex = dropped_examples.setdefault(payload, [])
                if len(ex) < MAX_EXAMPLES:
                    ex.append(rid if rid is not None else where)
                continue
            if kind == "bad":
                reason, etype, msg = payload
                if not skip_bad:
                    cls = BadImageError if etype == "BadImageError" else BadRowError
                    raise cls(f"{source.describe()}: {msg} (use --skip-bad to skip and count such rows)")
                skipped[reason] += 1
                ex = skipped_examples.setdefault(reason, [])
                if len(ex) < MAX_EXAMPLES:
                    ex.append(msg)
                continue
            if kind == "none":
                counts["not_selected"] += 1
                continue
            row = payload
            key = route(row) if route is not None else next(iter(outputs))
            ex = row["extra_info"]
            if ex["id"] in seen_ids:
                err = BadRowError(f"{label}: duplicate id {ex['id']!r} (first seen at {seen_ids[ex['id']]})")
                if not skip_bad:
                    raise err
                skipped["duplicate_id"] += 1
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
        n_rows = sum(per_output.values())
        check = "not applicable"
        if expected is not None:
            if not enforce_expected:
                check = "skipped (subset requested)"
            else:
                problems = []
                if n_rows != expected.total:
                    problems.append(f"{n_rows} rows, expected {expected.total}")
                if expected.multiple_choice is not None and n_mc != expected.multiple_choice:
                    problems.append(f"{n_mc} multiple-choice, expected {expected.multiple_choice}")
                if expected.free_form is not None and n_ff != expected.free_form:
                    problems.append(f"{n_ff} free-form, expected {expected.free_form}")
                if problems:
                    raise CountMismatchError(
                        f"{name}: the full split does not have the known counts: {'; '.join(problems)} "
                        f"(input {source.describe()}; skipped {dict(skipped)}, dropped {dict(dropped)}). "
                        "Nothing was written. Check the input, or pass --limit/--subjects for a subset "
                        "(or --allow-count-mismatch)."
                    )
                check = "passed"
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
        write_json_atomic(summary, summary_path)
        summary["summary_path"] = summary_path
    return summary


def build_split(
    name: str,
    split: str,
    output_dir: str,
    source: Source,
    convert: Callable[[dict, str, BuildContext], dict | None],
    expected: Expected | None,
    *,
    limit: int | None,
    allow_count_mismatch: bool,
    skip_bad: bool,
    progress: bool,
    workers: int,
    prompt_style: str,
    max_pixels: int | None,
    base_dirs: Sequence[str] = (),
    subset: bool = False,
    extra_summary: Mapping[str, Any] | None = None,
) -> dict:
    """:func:`run_build` for a builder that writes one split to ``<output_dir>/<name>_<split>.parquet``.

    The summary goes to ``<output_dir>/<name>_<split>.summary.json``. The known counts ``expected`` are
    enforced unless ``limit`` is set, ``subset`` is true (the builder selected part of the split, e.g.
    MMMU's ``--subjects``) or ``allow_count_mismatch``. ``base_dirs`` are the folders image paths are
    resolved against (default: the source's own).
    """
    return run_build(
        name=name,
        source=source,
        convert=convert,
        outputs={split: os.path.join(output_dir, f"{name}_{split}.parquet")},
        ctx=BuildContext(prompt_style=prompt_style, max_pixels=max_pixels, base_dirs=list(base_dirs)),
        expected=expected,
        enforce_expected=limit is None and not subset and not allow_count_mismatch,
        limit=limit,
        skip_bad=skip_bad,
        progress=progress,
        workers=workers,
        summary_path=os.path.join(output_dir, f"{name}_{split}.summary.json"),
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
        f"   count check: {s['count_check']}" + (f" (expected {s['expected']})" if s.get("expected") else ""),
    ]
    if s.get("notes"):
        lines.append(f"   notes: {s['notes']}")
    for key, path in s["outputs"].items():
        lines.append(f"   -> {path}" + (f" [{key}: {s['rows_per_output'][key]} rows]" if len(s["outputs"]) > 1 else ""))
    if s.get("summary_path"):
        lines.append(f"   summary: {s['summary_path']}")
    return "\n".join(lines)
