"""We-Math (``We-Math/We-Math``) testmini -> ``wemath_testmini.parquet``.

Columns (lmms-eval / We-Math README): ``ID`` (shared by the sub-problems of one composite problem),
``split``, ``knowledge concept``, ``question``, ``option`` (one string, ``"A. 200.96;B. 3215.36;...;
E. No correct answer"``), ``answer`` (a letter), ``image_path`` (Image in the parquet; a relative path
such as ``3steps/image/165-3.png`` in the JSON release), ``key`` (``2steps_1``, ``3steps_multi``, ...),
``question number``, ``knowledge concept description``.

Rules: all multiple choice; options parsed from the ``;``-separated lettered string (letters must run
A, B, C, ...); the gold letter must index an option; one image prepended as ``<image>\\n``.
``id`` = ``"<ID>/<key>"`` (``ID`` alone repeats across the steps of one problem; the pair is unique),
``subject`` = knowledge concept, ``subfield`` = key (needed for We-Math's four-dimensional metrics).
Known size: testmini 1740.
"""

from __future__ import annotations

import functools
import os

from rlsd_verl.data import cli
from rlsd_verl.data.answers import letter_of, parse_lettered_options
from rlsd_verl.data.build import BadRowError, BuildContext, Expected, build_split
from rlsd_verl.data.prompts import question_with_options, user_content
from rlsd_verl.data.schema import IMAGE_TOKEN, MULTIPLE_CHOICE, make_row, option_letters
from rlsd_verl.data.sources import open_source

DATA_SOURCE = "We-Math/We-Math"
REPO_ID = "We-Math/We-Math"
SPLITS = ("testmini",)
EXPECTED = {"testmini": Expected(1740, multiple_choice=1740, free_form=0)}
PATTERNS = ("data/{split}-*.parquet", "{split}-*.parquet")
JSON_NAMES = ("{split}.json", "data/{split}.json", "{split}.jsonl")


def convert_row(raw: dict, where: str, ctx: BuildContext, *, split: str, prompt_style: str) -> dict:
    base_id = raw.get("ID")
    if base_id in (None, ""):
        raise BadRowError(f"{where}: column ID is missing")
    key = raw.get("key") or ""
    rid = f"{base_id}/{key}" if key else str(base_id)
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise BadRowError(f"{where}: column question is empty")
    if IMAGE_TOKEN in question:
        raise BadRowError(f"{where}: question already contains a literal {IMAGE_TOKEN!r} token")
    try:
        options = parse_lettered_options(raw.get("option"), f"{where}, column option")
    except ValueError as e:
        raise BadRowError(str(e)) from None
    letters = option_letters(len(options))
    letter = letter_of(str(raw.get("answer") or ""))
    if letter is None or letter not in letters:
        raise BadRowError(f"{where}: column answer {raw.get('answer')!r} is not one of the option letters {letters}")
    if raw.get("image_path") is None:
        raise BadRowError(f"{where}: column image_path is null")
    image = ctx.image(raw["image_path"], f"{where}, column image_path")
    qtext = question_with_options(f"{IMAGE_TOKEN}\n{question.strip()}", options)
    return make_row(
        data_source=DATA_SOURCE,
        question=qtext,
        answer=letter,
        images=[image],
        prompt_content=user_content(qtext, prompt_style, MULTIPLE_CHOICE),
        ability="math",
        id=rid,
        split=split,
        index=0,
        question_type=MULTIPLE_CHOICE,
        options=options,
        gold_answers=[letter],
        subject=raw.get("knowledge concept") or "",
        subfield=key,
        source_dataset=REPO_ID,
    )


def build_wemath(*, input=None, split: str = "testmini", output_dir: str, limit: int | None = None,
                 prompt_style: str = "rlsd", max_pixels: int | None = None, skip_bad: bool = False,
                 allow_count_mismatch: bool = False, progress: bool = True, workers: int = 1,
                 from_hub: bool = False, hub_dir: str | None = None, revision: str | None = None) -> dict:
    """Write ``<output_dir>/wemath_<split>.parquet``; returns the summary dict."""
    if split not in SPLITS:
        raise ValueError(f"We-Math split must be one of {SPLITS}, got {split!r}")
    source = open_source(input=input, split=split, patterns=PATTERNS, json_names=JSON_NAMES, from_hub=from_hub,
                         repo_id=REPO_ID, allow_patterns=[f"data/{split}-*.parquet", f"{split}-*.parquet"],
                         hub_dir=hub_dir, revision=revision)
    # JSON release: image paths are relative to the folder holding the images.
    extra_bases = [os.path.join(b, "images") for b in source.base_dirs]
    return build_split("wemath", split, output_dir, source,
                       functools.partial(convert_row, split=split, prompt_style=prompt_style),
                       EXPECTED[split], limit=limit, allow_count_mismatch=allow_count_mismatch, skip_bad=skip_bad,
                       progress=progress, workers=workers, prompt_style=prompt_style, max_pixels=max_pixels,
                       base_dirs=list(source.base_dirs) + extra_bases)


def main(argv=None) -> int:
    p = cli.base_parser("We-Math (We-Math/We-Math) testmini -> verl parquet (wemath_testmini.parquet).",
                        SPLITS, "testmini")
    return cli.run(build_wemath, cli.common_kwargs(p.parse_args(argv)))
