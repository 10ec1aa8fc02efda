"""The package's one JSONL reader and one atomic file writer.

Every file the project writes goes through :func:`atomic_write_bytes` (or a streaming writer built on
:func:`temp_file_beside` + :func:`commit_temp_file`, e.g. the parquet sink): the data lands in a
temporary file in the destination folder and is moved into place with ``os.replace``, so a crash
leaves either the old file or the new one, never a partial file or a stray temp file. New files get
the mode ``open()`` would have given them (``0o666`` minus the umask), not ``mkstemp``'s ``0o600``.

:func:`read_jsonl` is the one JSONL reader: it yields ``(line_number, object)`` for each non-empty
line and raises ``ValueError`` naming the file and line for a bad one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any


def default_file_mode() -> int:
    """0o666 minus the process umask: the mode ``open()`` would have given a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def temp_file_beside(path: str | os.PathLike) -> str:
    """A new empty temporary file in ``path``'s folder (created if needed); the caller fills it and
    then calls :func:`commit_temp_file` or removes it."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    return tmp


def commit_temp_file(tmp: str, path: str | os.PathLike) -> None:
    """Give ``tmp`` the default file mode and move it onto ``path`` (atomic on one file system)."""
    os.chmod(tmp, default_file_mode())
    os.replace(tmp, os.fspath(path))


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    tmp = temp_file_beside(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        commit_temp_file(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, *, allow_nan: bool = False) -> None:
    """``obj`` as indented UTF-8 JSON (keys in insertion order), written atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=allow_nan) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, records) -> int:
    """One JSON object per line, written atomically; returns the number of lines."""
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def read_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-empty line; a bad line raises ``ValueError`` naming
    the file and line."""
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            yield lineno, obj
