"""We-Math (``We-Math/We-Math``) testmini -> ``wemath_testmini.parquet``.

Columns (lmms-eval / We-Math README): ``ID`` (shared by the sub-problems of one composite problem),
``split``, ``knowledge concept``, ``question``, ``option`` (one string, ``"A. 200.96;B. 3215.36;...;
E. No correct answer"``), ``answer`` (a letter), ``image_path`` (Image in the parquet; a relative path
such as ``3steps/image/165-3.png`` in the JSON release), ``key`` (``2steps_1``, ``3steps_multi``, ...),
``question number``, ``knowledge concept description``.

Rules: all multiple choice; options parsed from the ``;``-separated lettered string (see
:func:`~rlsd_verl.data.answers.parse_lettered_options` for the real strings that break the plain
split: ``;`` inside an option's text, options run together, a "No correct answer" option lettered F
after C - it becomes D and so does an answer F); the gold letter must index an option. Options whose
texts are letters (``A. F; B. D; ...``) and repeated option texts are kept as released (the scorer
reads a bare letter as the option letter, never as option text). One image prepended as ``<image>\n``.
``id`` = ``"<ID>/<key>"`` (``ID`` alone repeats across the steps of one problem; the pair is unique),
``subject`` = knowledge concept, ``subfield`` = key (needed for We-Math's four-dimensional metrics).
Known size: testmini 1740.
"""

from __future__ import annotations

from rlsd_verl.data import cli
from rlsd_verl.data.answers import letter_of, parse_lettered_options, relabelled_letter
from rlsd_verl.data.build import BadRowError, BuildContext, DatasetSpec, Expected, build_dataset
from rlsd_verl.data.columns import benchmark_row, id_column, no_image_token, option_letter, str_column
from rlsd_verl.data.prompts import question_with_options
from rlsd_verl.data.schema import IMAGE_TOKEN, MULTIPLE_CHOICE

DATA_SOURCE = "We-Math/We-Math"
REPO_ID = "We-Math/We-Math"
SPLITS = ("testmini",)
EXPECTED = {"testmini": Expected(1740, multiple_choice=1740, free_form=0)}
JSON_NAMES = ("{split}.json", "data/{split}.json", "{split}.jsonl")


def convert_row(raw: dict, where: str, ctx: BuildContext, *, split: str, prompt_style: str) -> dict:
    base_id = id_column(raw, "ID", where)
    key = raw.get("key") or ""
    rid = f"{base_id}/{key}" if key else base_id
    question = no_image_token(str_column(raw, "question", where), "question", where)
    repairs: list[str] = []
    try:
        options = parse_lettered_options(raw.get("option"), f"{where}, column option", repairs=repairs)
    except ValueError as e:
        raise BadRowError(str(e)) from None
    for r in repairs:
        ctx.note("option_" + r.split(":")[0])
    if any(letter_of(o) for o in options):
        ctx.note("letter_valued_options")
    if len({o.strip() for o in options}) < len(options):
        ctx.note("duplicate_option_texts")
    letter = letter_of(str(raw.get("answer") or ""))
    if letter is not None:
        letter = relabelled_letter(repairs, letter)
    letter = option_letter(letter, len(options), raw.get("answer"), where)
    if raw.get("image_path") is None:
        raise BadRowError(f"{where}: column image_path is null")
    image = ctx.image(raw["image_path"], f"{where}, column image_path")
    qtext = question_with_options(f"{IMAGE_TOKEN}\n{question.strip()}", options)
    return benchmark_row(
        data_source=DATA_SOURCE, split=split, prompt_style=prompt_style,
        question=qtext, answer=letter, images=[image], question_type=MULTIPLE_CHOICE, id=rid, ability="math",
        options=options, subject=raw.get("knowledge concept") or "", subfield=key,
    )


SPEC = DatasetSpec(
    name="wemath", description="We-Math (We-Math/We-Math) testmini -> verl parquet (wemath_testmini.parquet).",
    repo_id=REPO_ID, splits=SPLITS, default_split="testmini", convert=convert_row, expected=EXPECTED,
    json_names=JSON_NAMES, allow_patterns=("data/{split}-*.parquet", "{split}-*.parquet"),
    image_subdirs=("images",))  # JSON release: image paths are relative to the folder holding the images


def build_wemath(**kwargs) -> dict:
    """Write ``<output_dir>/wemath_<split>.parquet``; returns the summary dict (see :func:`build_dataset`)."""
    return build_dataset(SPEC, **kwargs)


def main(argv=None) -> int:
    return cli.main_for(SPEC, build_wemath, argv)
