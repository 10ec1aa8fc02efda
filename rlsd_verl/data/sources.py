"""Input layouts accepted by every builder (data.md §6) and row iteration over them.

:func:`resolve_input` turns ``--input PATH`` into a :class:`Source`:

* a single ``.parquet`` file, or a ``.json`` / ``.jsonl`` file (records; relative image paths are
  resolved against the file's folder and its parent);
* a hub-layout folder (a ``git clone`` / ``snapshot_download(local_dir=...)`` folder, or an HF hub
  cache repo folder ``datasets--ORG--NAME`` whose newest ``snapshots/<commit>`` is used): the builder's
  glob patterns (e.g. ``*/validation-*.parquet`` for MMMU's per-subject folders, sharded files
  included, then ``data/validation-*.parquet`` for merged mirrors) are tried in order, first match wins;
* a ``datasets.save_to_disk`` folder (``dataset_dict.json`` -> the split is picked, ``state.json`` -> a
  single ``Dataset``), or a folder of such folders (one per MMMU subject);
* a folder holding a ``<split>.jsonl`` / ``<split>.json`` file (e.g. MathVision's GitHub layout
  ``data/test.jsonl`` + ``images/``).

Rows are streamed (parquet row group by row group; ``datasets`` rows with images left undecoded), so
the 10.5K-row MMMU test split or the 7 GB MMFineReason shards never sit in memory at once. Every row
comes with a ``where`` string (file and row number) for error messages.

:func:`download_from_hub` is the online path (``--from-hub``): ``huggingface_hub.snapshot_download``
of just the files a split needs, then the folder is read like any hub-layout folder.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlsd_verl.utils.io import read_jsonl


class InputError(ValueError):
    """The input path does not exist or has no recognised layout for the requested split."""


@dataclass
class Source:
    kind: str  # "parquet" | "disk" | "json"
    paths: list[str]
    split: str
    root: str
    base_dirs: list[str] = field(default_factory=list)  # for relative image paths

    def describe(self) -> str:
        shown = ", ".join(os.path.relpath(p, self.root) if self.root else p for p in self.paths[:4])
        more = f" (+{len(self.paths) - 4} more)" if len(self.paths) > 4 else ""
        return f"{self.kind}: {shown}{more}"

    def num_rows(self) -> int:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            return sum(pq.ParquetFile(p).metadata.num_rows for p in self.paths)
        if self.kind == "disk":
            return sum(len(_load_disk(p, self.split)) for p in self.paths)
        return sum(1 for _ in self.iter_rows())

    def iter_rows(self, columns: Sequence[str] | None = None) -> Iterator[tuple[str, dict]]:
        """Yield ``(where, row)`` with images as ``{"bytes", "path"}`` dicts (or path strings)."""
        for path in self.paths:
            name = os.path.relpath(path, self.root) if self.root else path
            if self.kind == "parquet":
                yield from _iter_parquet(path, name, columns)
            elif self.kind == "disk":
                ds = _undecoded(_load_disk(path, self.split))
                for i, row in enumerate(ds):
                    yield f"{name} row {i}", row
            elif self.kind == "json":
                yield from _iter_json(path, name)
            else:  # pragma: no cover
                raise InputError(f"unknown source kind {self.kind!r}")


def _iter_parquet(path: str, name: str, columns) -> Iterator[tuple[str, dict]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # noqa: BLE001
        raise InputError(f"{path}: not a readable parquet file: {e}") from e
    cols = None
    if columns is not None:
        present = set(pf.schema_arrow.names)
        cols = [c for c in columns if c in present]
    i = 0
    for batch in pf.iter_batches(batch_size=32, columns=cols):
        for row in batch.to_pylist():
            yield f"{name} row {i}", row
            i += 1


def _iter_json(path: str, name: str) -> Iterator[tuple[str, dict]]:
    if path.endswith(".jsonl"):
        try:
            for lineno, row in read_jsonl(path):
                yield f"{name} line {lineno}", row
        except ValueError as e:
            raise InputError(str(e)) from None
        return
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not valid JSON: {e}") from e
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    elif isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        data = list(data.values())  # {id: record} (e.g. MathVista's data/testmini.json, keyed by pid)
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of records")
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise InputError(f"{path}: record {i} is not a JSON object")
        yield f"{name} record {i}", row


def _load_disk(path: str, split: str):
    import datasets

    try:
        obj = datasets.load_from_disk(path)
    except Exception as e:  # noqa: BLE001
        raise InputError(f"{path}: cannot load the save_to_disk folder: {e}") from e
    if isinstance(obj, datasets.DatasetDict):
        if split not in obj:
            raise InputError(f"{path}: split {split!r} not in the saved DatasetDict (has {sorted(obj.keys())})")
        return obj[split]
    return obj


def _no_decode(feature):
    from datasets import Image, List

    if isinstance(feature, Image):
        return Image(decode=False)
    if isinstance(feature, List):
        return List(_no_decode(feature.feature), length=feature.length)
    if isinstance(feature, dict):
        return {k: _no_decode(v) for k, v in feature.items()}
    return feature


def _undecoded(ds):
    """Image columns of a ``datasets.Dataset`` as raw ``{"bytes","path"}`` dicts (no PIL round trip)."""
    for name, feat in ds.features.items():
        new = _no_decode(feat)
        if new != feat:
            ds = ds.cast_column(name, new)
    return ds


def _is_disk_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "dataset_dict.json")) or os.path.isfile(os.path.join(path, "state.json"))


def _hf_cache_snapshot(path: str) -> str:
    """``datasets--ORG--NAME`` (HF hub cache) -> its newest ``snapshots/<commit>`` folder."""
    snaps = os.path.join(path, "snapshots")
    if os.path.isdir(snaps):
        subdirs = [os.path.join(snaps, d) for d in os.listdir(snaps) if os.path.isdir(os.path.join(snaps, d))]
        if subdirs:
            return max(subdirs, key=os.path.getmtime)
    return path


def resolve_input(path: str | os.PathLike, split: str, *, patterns: Sequence[str],
                  json_names: Sequence[str] = (), disk_subdirs: bool = False) -> Source:
    """Find the files holding ``split`` under ``path`` (see the module docstring for the layouts).

    ``patterns`` are globs relative to the folder, formatted with ``split`` (``"*/{split}-*.parquet"``);
    ``json_names`` are relative paths of record files (``"data/{split}.jsonl"``); ``disk_subdirs``
    accepts a folder of ``save_to_disk`` folders (one per subject).
    """
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise InputError(f"input {path} does not exist")
    if os.path.isfile(path):
        if path.endswith(".parquet"):
            return Source("parquet", [path], split, os.path.dirname(path))
        if path.endswith((".json", ".jsonl")):
            d = os.path.dirname(path)
            return Source("json", [path], split, d, base_dirs=[d, os.path.dirname(d)])
        raise InputError(f"input file {path}: expected a .parquet, .json or .jsonl file")
    root = _hf_cache_snapshot(path)
    if _is_disk_dir(root):
        return Source("disk", [root], split, root)
    for pat in patterns:
        files = sorted(glob.glob(os.path.join(root, pat.format(split=split))))
        files = [f for f in files if os.path.isfile(f)]
        if files:
            return Source("parquet", files, split, root)
    for name in json_names:
        f = os.path.join(root, name.format(split=split))
        if os.path.isfile(f):
            d = os.path.dirname(f)
            return Source("json", [f], split, root, base_dirs=[d, root, os.path.dirname(d)])
    if disk_subdirs:
        subs = sorted(os.path.join(root, d) for d in os.listdir(root) if _is_disk_dir(os.path.join(root, d)))
        if subs:
            return Source("disk", subs, split, root)
    looked = [p.format(split=split) for p in patterns] + [n.format(split=split) for n in json_names]
    if disk_subdirs:
        looked.append("<subject>/ save_to_disk folders")
    raise InputError(
        f"input {path}: no data for split {split!r} found; looked for {looked}, a save_to_disk folder "
        f"(dataset_dict.json / state.json), or pass a single .parquet/.json/.jsonl file"
    )


def download_from_hub(repo_id: str, allow_patterns: Sequence[str], *, local_dir: str | None = None,
                      revision: str | None = None) -> str:
    """Download only ``allow_patterns`` of dataset ``repo_id`` with ``huggingface_hub``; return the folder.

    Online only (this is the ``--from-hub`` path; the test suite replaces ``snapshot_download``).
    """
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:  # pragma: no cover
        raise InputError("--from-hub needs the huggingface_hub package") from e
    kwargs: dict[str, Any] = dict(repo_id=repo_id, repo_type="dataset", allow_patterns=list(allow_patterns))
    if revision:
        kwargs["revision"] = revision
    if local_dir:
        kwargs["local_dir"] = local_dir
    return snapshot_download(**kwargs)


def open_source(*, input: str | os.PathLike | None, split: str, patterns: Sequence[str],
                json_names: Sequence[str] = (), disk_subdirs: bool = False, from_hub: bool = False,
                repo_id: str | None = None, allow_patterns: Sequence[str] = (), hub_dir: str | None = None,
                revision: str | None = None) -> Source:
    """``--input PATH`` or ``--from-hub`` (download ``allow_patterns`` of ``repo_id``) -> :class:`Source`."""
    if from_hub:
        if input is not None:
            raise InputError("give either --input or --from-hub, not both")
        if not repo_id:
            raise InputError("--from-hub needs a hub repo id")
        input = download_from_hub(repo_id, allow_patterns, local_dir=hub_dir, revision=revision)
    if input is None:
        raise InputError("no input: pass --input PATH or --from-hub")
    return resolve_input(input, split, patterns=patterns, json_names=json_names, disk_subdirs=disk_subdirs)
