"""Reading a source row's columns: the checks the benchmark builders share, and their output row.

Each check raises :class:`~rlsd_verl.data.build.BadRowError` naming the row (``where``) and the column,
so a bad row is reported (or skipped with ``--skip-bad``) the same way by every builder.
"""

from __future__ import annotations

from typing import Any, Sequence

from rlsd_verl.data.build import BadRowError, BuildContext
from rlsd_verl.data.prompts import user_content
from rlsd_verl.data.schema import IMAGE_TOKEN, make_row, option_letters


def str_column(raw: dict, col: str, where: str, *, allow_empty: bool = False) -> str:
    """Column ``col`` as a string, unchanged; null or blank only with ``allow_empty`` (null gives ``""``)."""
    v = raw.get(col)
    if v is None:
        if allow_empty:
            return ""
        raise BadRowError(f"{where}: column {col} is missing/null")
    if not isinstance(v, str):
        raise BadRowError(f"{where}: column {col} must be a string, got {type(v).__name__}")
    if not allow_empty and not v.strip():
        raise BadRowError(f"{where}: column {col} is empty")
    return v


def id_column(raw: dict, col: str, where: str) -> str:
    """Column ``col`` (a row id of any type) as a string; null or blank is a bad row."""
    v = raw.get(col)
    if v is None or str(v).strip() == "":
        raise BadRowError(f"{where}: column {col} is missing")
    return str(v)


def answer_column(raw: dict, col: str, where: str, *, why: str = "") -> str:
    """Column ``col`` (the gold, of any type) as a stripped string; null or blank is a bad row (``why`` says more)."""
    v = raw.get(col)
    if v is None or not str(v).strip():
        raise BadRowError(f"{where}: column {col} is empty" + (f" ({why})" if why else ""))
    return str(v).strip()


def no_image_token(text: str, col: str, where: str) -> str:
    """``text`` unchanged; a literal ``<image>`` in it (the builder adds the placeholders) is a bad row."""
    if IMAGE_TOKEN in text:
        raise BadRowError(f"{where}: {col} already contains a literal {IMAGE_TOKEN!r} token")
    return text


def single_image(raw: dict, ctx: BuildContext, where: str) -> bytes:
    """The row's one image: column ``decoded_image`` (hub parquet), else the path in column ``image``."""
    if raw.get("decoded_image") is not None:
        return ctx.image(raw["decoded_image"], f"{where}, column decoded_image")
    if isinstance(raw.get("image"), str) and raw["image"]:
        return ctx.image(raw["image"], f"{where}, column image")
    raise BadRowError(f"{where}: no image (decoded_image is null and image has no path)")


def option_letter(letter: str | None, n_options: int, answer: Any, where: str) -> str:
    """``letter`` when it names one of ``n_options`` options; else a bad row quoting the ``answer`` column."""
    letters = option_letters(n_options)
    if letter is None or letter not in letters:
        raise BadRowError(f"{where}: column answer {answer!r} is not one of the option letters {letters}")
    return letter


def benchmark_row(*, data_source: str, split: str, prompt_style: str, question: str, answer: str,
                  images: Sequence[Any], question_type: str, id: str, native: dict | None = None,
                  **fields) -> dict:
    """One converted row (:func:`~rlsd_verl.data.schema.make_row`): the prompt is ``question`` followed by the
    instruction of ``prompt_style`` (``native`` passes a benchmark's own suffix); ``index`` is left 0, the
    build loop numbers the rows of each output file."""
    return make_row(
        data_source=data_source, question=question, answer=answer, images=images,
        prompt_content=user_content(question, prompt_style, question_type, **(native or {})),
        id=id, split=split, index=0, question_type=question_type, **fields,
    )
