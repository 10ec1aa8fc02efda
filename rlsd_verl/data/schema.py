"""The one row schema shared by every parquet file the project writes (training and evaluation).

Every builder (MMMU, MathVision, MathVista, WeMath, ZeroBench, MMFineReason, geometry3k, the synthetic
test sets) produces rows with exactly these columns and writes them with :func:`write_parquet`, so that
all outputs carry identical Arrow schemas plus the same HF ``features`` metadata and can be concatenated
(``datasets.concatenate_datasets``; verl's ``RLHFDataset`` concatenates ``data.train_files``).

Row layout (verl's geo3k contract plus a fixed ``extra_info`` key set)::

    data_source  : str                      e.g. "MMMU/MMMU", "MathLLMs/MathVision"
    prompt       : [{"role": "user", "content": str}]   one user turn; exactly one "<image>" per image, in order
    images       : List(Image())            image bytes (PNG/JPEG), loaded back as PIL images
    ability      : str                      "math", "mmmu", ...
    reward_model : {"style": "rule", "ground_truth": str}
    extra_info   : {id, split, index, question, answer, gold_answers, question_type, options,
                    reference_solution, subject, subfield, level, difficulty, source_dataset}

``extra_info.question`` is the student-visible problem (question text plus the options block, with the
same ``<image>`` tokens as the prompt) *without* the format instruction, so a teacher prompt can be built
as question + reference + instruction from the same images.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from io import BytesIO
from typing import Any

import datasets
from datasets import Features, Image, List, Value

from rlsd_verl.utils.io import commit_temp_file, temp_file_beside

IMAGE_TOKEN = "<image>"
MULTIPLE_CHOICE = "multiple_choice"
FREE_FORM = "free_form"
QUESTION_TYPES = (MULTIPLE_CHOICE, FREE_FORM)
NO_LEVEL = -1
# Parquet row groups of image datasets are kept small, as `datasets` does for image features; a
# group is also closed once its images pass ROW_GROUP_BYTES, so large scans never pile up in memory.
ROW_GROUP_SIZE = 100
ROW_GROUP_BYTES = 64 << 20

EXTRA_INFO_FEATURES = {
    "id": Value("string"),
    "split": Value("string"),
    "index": Value("int64"),
    "question": Value("string"),
    "answer": Value("string"),
    "gold_answers": List(Value("string")),
    "question_type": Value("string"),
    "options": List(Value("string")),
    "reference_solution": Value("string"),
    "subject": Value("string"),
    "subfield": Value("string"),
    "level": Value("int64"),
    "difficulty": Value("string"),
    "source_dataset": Value("string"),
}

FEATURES = Features(
    {
        "data_source": Value("string"),
        "prompt": List({"role": Value("string"), "content": Value("string")}),
        "images": List(Image()),
        "ability": Value("string"),
        "reward_model": {"style": Value("string"), "ground_truth": Value("string")},
        "extra_info": EXTRA_INFO_FEATURES,
    }
)

COLUMNS = tuple(FEATURES.keys())
EXTRA_INFO_KEYS = tuple(EXTRA_INFO_FEATURES.keys())
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class SchemaError(ValueError):
    """A row or a file does not follow :data:`FEATURES`; the message names the row id / file."""


def option_letters(n: int) -> list[str]:
    if n > len(_LETTERS):
        raise ValueError(f"{n} options: at most {len(_LETTERS)} can be lettered")
    return list(_LETTERS[:n])


def join_prompt(question: str, instruction: str, sep: str = "\n\n") -> str:
    """The user-turn text: the student-visible question, then the format instruction (if any)."""
    return question if not instruction else f"{question}{sep}{instruction}"


def _image_entry(img: Any) -> dict:
    """Normalise one image to the ``{"bytes", "path"}`` dict the ``Image`` feature stores."""
    if isinstance(img, Mapping):
        if img.get("bytes") is None:
            raise TypeError("image dict without bytes (only in-memory bytes are stored, not paths)")
        return {"bytes": bytes(img["bytes"]), "path": img.get("path")}
    if isinstance(img, (bytes, bytearray, memoryview)):
        return {"bytes": bytes(img), "path": None}
    try:
        from PIL import Image as PILImage
    except ImportError:  # pragma: no cover - pillow is a dependency
        PILImage = None
    if PILImage is not None and isinstance(img, PILImage.Image):
        buf = BytesIO()
        img.save(buf, format="PNG")
        return {"bytes": buf.getvalue(), "path": None}
    raise TypeError(f"unsupported image type {type(img).__name__}: give bytes, a PIL image or a {{'bytes'}} dict")


def make_row(
    *,
    data_source: str,
    question: str,
    answer: str,
    images: Sequence[Any] = (),
    instruction: str = "",
    prompt_content: str | None = None,
    ability: str = "math",
    id: str,
    split: str,
    index: int,
    question_type: str = FREE_FORM,
    options: Sequence[str] = (),
    gold_answers: Sequence[str] | None = None,
    reference_solution: str = "",
    subject: str = "",
    subfield: str = "",
    level: int | None = None,
    difficulty: str = "",
    source_dataset: str = "",
    validate: bool = True,
) -> dict:
    """Build one row in the :data:`FEATURES` layout.

    ``question`` is the student-visible text (with one ``<image>`` per image, options block included);
    the prompt is ``question + "\\n\\n" + instruction`` unless ``prompt_content`` is given.
    ``answer`` becomes ``reward_model.ground_truth`` and ``extra_info.answer``; ``gold_answers``
    defaults to ``[answer]``. ``images`` may be bytes, PIL images or ``{"bytes", "path"}`` dicts.
    """
    answer = str(answer)
    golds = [str(g) for g in gold_answers] if gold_answers is not None else [answer]
    content = prompt_content if prompt_content is not None else join_prompt(question, instruction)
    row = {
        "data_source": data_source,
        "prompt": [{"role": "user", "content": content}],
        "images": [_image_entry(im) for im in images],
        "ability": ability,
        "reward_model": {"style": "rule", "ground_truth": answer},
        "extra_info": {
            "id": str(id),
            "split": split,
            "index": int(index),
            "question": question,
            "answer": answer,
            "gold_answers": golds,
            "question_type": question_type,
            "options": [str(o) for o in options],
            "reference_solution": reference_solution or "",
            "subject": subject or "",
            "subfield": subfield or "",
            "level": NO_LEVEL if level is None else int(level),
            "difficulty": difficulty or "",
            "source_dataset": source_dataset or data_source,
        },
    }
    if validate:
        validate_row(row)
    return row


def _row_name(row: Any, where: str | None) -> str:
    rid = None
    if isinstance(row, Mapping) and isinstance(row.get("extra_info"), Mapping):
        rid = row["extra_info"].get("id")
    name = f"row id={rid!r}" if rid is not None else "row"
    return f"{where}: {name}" if where else name


def validate_row(row: Mapping, *, where: str | None = None, decode_images: bool = False) -> None:
    """Raise :class:`SchemaError` (naming the row id and the column) if ``row`` breaks the contract.

    Checks: exact column and ``extra_info`` key sets, one user turn, ``<image>`` count == number of
    images, ``style == "rule"``, non-empty ground truth equal to ``extra_info.answer`` and contained in
    ``gold_answers``, a known ``question_type``, and for multiple choice a gold letter within the
    options. ``decode_images=True`` additionally opens every image with PIL.
    """
    name = _row_name(row, where)

    def fail(column: str, msg: str):
        raise SchemaError(f"{name}, column {column}: {msg}")

    if not isinstance(row, Mapping):
        raise SchemaError(f"{name}: expected a dict, got {type(row).__name__}")
    keys = set(row.keys())
    if keys != set(COLUMNS):
        fail("*", f"columns {sorted(keys)} != expected {sorted(COLUMNS)}")
    for col in ("data_source", "ability"):
        if not isinstance(row[col], str) or not row[col]:
            fail(col, f"must be a non-empty string, got {row[col]!r}")
    prompt = row["prompt"]
    if not isinstance(prompt, Sequence) or isinstance(prompt, str) or len(prompt) != 1:
        fail("prompt", f"must be a list with exactly one user message, got {prompt!r:.200}")
    msg = prompt[0]
    if not isinstance(msg, Mapping) or set(msg.keys()) != {"role", "content"}:
        fail("prompt", f"message must be {{role, content}}, got {msg!r:.200}")
    if msg["role"] != "user" or not isinstance(msg["content"], str) or not msg["content"].strip():
        fail("prompt", "message must have role 'user' and non-empty string content")
    images = row["images"]
    if images is None or isinstance(images, (str, bytes)):
        fail("images", f"must be a list, got {type(images).__name__}")
    n_tokens = msg["content"].count(IMAGE_TOKEN)
    if n_tokens != len(images):
        fail("prompt", f"{n_tokens} '{IMAGE_TOKEN}' tokens but {len(images)} images")
    if decode_images:
        for i, img in enumerate(images):
            try:
                _decode_any_image(img)
            except Exception as e:  # noqa: BLE001 - re-raised with the row id
                fail("images", f"image {i} does not decode: {e}")
    rm = row["reward_model"]
    if not isinstance(rm, Mapping) or set(rm.keys()) != {"style", "ground_truth"}:
        fail("reward_model", f"must be {{style, ground_truth}}, got {rm!r:.200}")
    if rm["style"] != "rule":
        fail("reward_model.style", f"must be 'rule', got {rm['style']!r}")
    gt = rm["ground_truth"]
    if not isinstance(gt, str) or not gt.strip():
        fail("reward_model.ground_truth", f"must be a non-empty string, got {gt!r}")
    ex = row["extra_info"]
    if not isinstance(ex, Mapping) or set(ex.keys()) != set(EXTRA_INFO_KEYS):
        got = sorted(ex.keys()) if isinstance(ex, Mapping) else type(ex).__name__
        fail("extra_info", f"keys {got} != expected {sorted(EXTRA_INFO_KEYS)}")
    for key in ("id", "split", "question", "answer", "question_type", "reference_solution", "subject",
                "subfield", "difficulty", "source_dataset"):
        if not isinstance(ex[key], str):
            fail(f"extra_info.{key}", f"must be a string, got {type(ex[key]).__name__}")
    if not ex["id"]:
        fail("extra_info.id", "must be non-empty")
    for key in ("index", "level"):
        if isinstance(ex[key], bool) or not isinstance(ex[key], int):
            fail(f"extra_info.{key}", f"must be an int, got {ex[key]!r}")
    if ex["question"].count(IMAGE_TOKEN) != len(images):
        fail("extra_info.question", f"{ex['question'].count(IMAGE_TOKEN)} '{IMAGE_TOKEN}' tokens but {len(images)} images")
    if ex["answer"] != gt:
        fail("extra_info.answer", f"{ex['answer']!r} != reward_model.ground_truth {gt!r}")
    golds = ex["gold_answers"]
    if not isinstance(golds, Sequence) or isinstance(golds, str) or not all(isinstance(g, str) for g in golds):
        fail("extra_info.gold_answers", f"must be a list of strings, got {golds!r:.200}")
    if gt not in golds:
        fail("extra_info.gold_answers", f"{list(golds)!r:.200} does not contain the ground truth {gt!r}")
    opts = ex["options"]
    if not isinstance(opts, Sequence) or isinstance(opts, str) or not all(isinstance(o, str) for o in opts):
        fail("extra_info.options", f"must be a list of strings, got {opts!r:.200}")
    qt = ex["question_type"]
    if qt not in QUESTION_TYPES:
        fail("extra_info.question_type", f"{qt!r} not in {QUESTION_TYPES}")
    if qt == MULTIPLE_CHOICE:
        if not opts:
            fail("extra_info.options", "multiple-choice row without options")
        letters = option_letters(len(opts))
        if gt not in letters:
            fail("reward_model.ground_truth", f"multiple-choice gold {gt!r} is not one of the letters {letters}")


def _decode_any_image(img: Any):
    from PIL import Image as PILImage

    if isinstance(img, PILImage.Image):
        img.load()
        return img
    entry = _image_entry(img)
    with PILImage.open(BytesIO(entry["bytes"])) as im:
        im.load()
        return im


class ParquetSink:
    """Streaming, atomic writer of :data:`FEATURES` rows to one parquet file.

    Rows are buffered and converted chunk by chunk through
    ``datasets.Dataset.from_list(chunk, features=FEATURES)``, then appended to a temporary file in the
    destination folder; :meth:`commit` moves it into place with ``os.replace``, :meth:`abort` (or an
    exception inside a ``with`` block) deletes it. ``check(n_rows)`` (optional) runs before the commit
    and may raise to abort it. Several sinks can be open at once (e.g. train and val files).
    """

    def __init__(self, path: str | os.PathLike, *, validate: bool = True, row_group_size: int = ROW_GROUP_SIZE):
        import pyarrow.parquet as pq

        self.path = os.fspath(path)
        self.validate = validate
        self.row_group_size = row_group_size
        self.rows = 0
        self._buf: list[dict] = []
        self._buf_bytes = 0
        self._tmp = temp_file_beside(self.path)
        self._schema = FEATURES.arrow_schema
        self._writer = pq.ParquetWriter(self._tmp, schema=self._schema)
        self._closed = False

    def add(self, row: Mapping) -> None:
        if self._closed:
            raise RuntimeError(f"{self.path}: sink already closed")
        if self.validate:
            validate_row(row, where=self.path)
        self._buf.append(row)
        self._buf_bytes += sum(len(im["bytes"]) for im in row.get("images") or []
                               if isinstance(im, Mapping) and im.get("bytes") is not None)
        if len(self._buf) >= self.row_group_size or self._buf_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def add_table(self, table) -> None:
        """Append an Arrow table that already has the :data:`FEATURES` storage layout."""
        self._flush()
        self._writer.write_table(table.cast(self._schema))
        self.rows += table.num_rows

    def _flush(self) -> None:
        if not self._buf:
            return
        table = datasets.Dataset.from_list(self._buf, features=FEATURES).data.table
        self._writer.write_table(table.cast(self._schema))
        self.rows += len(self._buf)
        self._buf = []
        self._buf_bytes = 0

    def commit(self, check=None) -> int:
        """Finish the file and move it into place; returns the number of rows. Empty files are refused."""
        try:
            self._flush()
            self._writer.close()
            self._closed = True
            if self.rows == 0:
                raise SchemaError(f"{self.path}: no rows to write")
            if check is not None:
                check(self.rows)
            commit_temp_file(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.rows

    def abort(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001
                pass
        if os.path.exists(self._tmp):
            os.remove(self._tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.commit()
        return False


def write_parquet(rows_or_dataset, path: str | os.PathLike, *, validate: bool = True,
                  row_group_size: int = ROW_GROUP_SIZE, check=None) -> int:
    """Write rows (a list or any iterable of dicts) or a ``datasets.Dataset`` to ``path`` atomically.

    Rows go through ``datasets.Dataset.from_list(rows, features=FEATURES)`` chunk by chunk (so an
    iterable streams without holding every image in memory) and are written with the schema and HF
    metadata of :data:`FEATURES`. The file is first written to a temporary file in the same folder and
    then moved into place with ``os.replace``: a failure leaves neither a partial file nor a temp file.
    An empty input is an error. ``check(n_rows)`` may raise to abort before the file is committed.
    Returns the number of rows written.
    """
    sink = ParquetSink(path, validate=validate, row_group_size=row_group_size)
    try:
        if isinstance(rows_or_dataset, datasets.Dataset):
            ds = rows_or_dataset
            if ds.features != FEATURES:
                try:
                    ds = ds.cast(FEATURES)
                except Exception as e:  # noqa: BLE001
                    raise SchemaError(f"{sink.path}: dataset features do not match FEATURES: {e}") from e
            raw = ds.cast_column("images", List(Image(decode=False)))  # validate without decoding to PIL
            for start in range(0, len(raw), row_group_size):
                part = raw.select(range(start, min(start + row_group_size, len(raw))))
                if validate:
                    for r in part:
                        validate_row(r, where=sink.path)
                sink.add_table(part.with_format("arrow")[:])
        else:
            for r in rows_or_dataset:
                sink.add(r)
    except BaseException:
        sink.abort()
        raise
    return sink.commit(check=check)


def load_parquet(path: str | os.PathLike) -> datasets.Dataset:
    """Load one project parquet file the way verl's ``RLHFDataset`` does (``load_dataset("parquet")``)."""
    return datasets.load_dataset("parquet", data_files=os.fspath(path), split="train")


def check_parquet(path: str | os.PathLike, *, decode_images: bool = True, max_rows: int | None = None) -> dict:
    """Loader check: load ``path`` like verl does, require features == :data:`FEATURES`, validate rows.

    Returns ``{"path", "rows", "images", "multiple_choice", "free_form", "data_sources"}``; raises
    :class:`SchemaError` naming the file and row id on the first problem.
    """
    path = os.fspath(path)
    ds = load_parquet(path)
    if ds.features != FEATURES:
        raise SchemaError(f"{path}: features differ from FEATURES:\n got {ds.features}\n want {FEATURES}")
    n_img = n_mc = 0
    sources: dict[str, int] = {}
    for i, row in enumerate(ds):
        if max_rows is not None and i >= max_rows:
            break
        validate_row(row, where=path, decode_images=decode_images)
        n_img += len(row["images"])
        n_mc += row["extra_info"]["question_type"] == MULTIPLE_CHOICE
        sources[row["data_source"]] = sources.get(row["data_source"], 0) + 1
    checked = min(len(ds), max_rows) if max_rows is not None else len(ds)
    return {"path": path, "rows": len(ds), "checked": checked, "images": n_img, "multiple_choice": n_mc,
            "free_form": checked - n_mc, "data_sources": sources}

