"""MathVista (``AI4Math/MathVista``) testmini -> ``mathvista_testmini.parquet``.

Columns (dataset card): ``pid``, ``question``, ``image`` (relative path), ``decoded_image`` (Image),
``choices`` (list or null), ``unit``, ``precision``, ``answer``, ``question_type``
(``multi_choice`` / ``free_form``), ``answer_type`` (``integer`` / ``float`` / ``text`` / ``list``),
``metadata`` (category, context, grade, language, skills, source, split, task, image size), ``query``.

Rules:

* One image, prepended as ``<image>\\n`` (MathVista questions carry no placeholder).
* Multiple choice: the gold is the *text* of a choice; it must match a choice (after whitespace
  trimming) and becomes that choice's letter; choices are rendered ``A. text``. When several choices
  carry the gold text (pid 781: ``['9', '12', '18', '18']``, answer ``'18'``) every such letter is a
  gold (``gold_answers``; ``ground_truth`` is the first), as MathVista's own scorer accepts either.
* Free form: the answer-format requirement that MathVista's official ``query`` spells out is kept in
  the student-visible question (integer; a float with ``precision`` decimals; a Python list), plus
  ``(Unit: ...)`` when the row has a unit. ``ground_truth`` is the answer string as given.
* ``subject`` = metadata.task, ``subfield`` = metadata.category, ``difficulty`` = metadata.grade,
  ``source_dataset`` = metadata.source (the collection the item came from, e.g. ``FigureQA``).
* The input is the release's ``data/testmini.json`` (or the hub parquet); ``annot_testmini.json`` is
  an annotation file, not the questions, and is refused with a message saying so.
* Known size: testmini 1000 (540 multiple choice + 460 free form). The 5,141-row ``test`` split has
  no public answers and is not supported.
"""

from __future__ import annotations

import os

from rlsd_verl.data import cli
from rlsd_verl.data.answers import letter_of
from rlsd_verl.data.build import BadRowError, BuildContext, DatasetSpec, Expected, build_dataset
from rlsd_verl.data.columns import answer_column, benchmark_row, id_column, no_image_token, single_image, str_column
from rlsd_verl.data.prompts import question_with_options
from rlsd_verl.data.schema import FREE_FORM, IMAGE_TOKEN, MULTIPLE_CHOICE, option_letters
from rlsd_verl.data.sources import InputError

DATA_SOURCE = "AI4Math/MathVista"
REPO_ID = "AI4Math/MathVista"
SPLITS = ("testmini",)
EXPECTED = {"testmini": Expected(1000, multiple_choice=540, free_form=460)}
JSON_NAMES = ("data/{split}.json", "{split}.json")
_PLACES = {1: "one decimal place", 2: "two decimal places", 3: "three decimal places"}


def answer_requirement(answer_type: str, precision) -> str:
    """The answer-format sentence for a free-form item ("" for text answers)."""
    if answer_type == "integer":
        return "Answer with an integer."
    if answer_type == "float":
        p = int(precision) if precision not in (None, "") else None
        if p is None:
            return "Answer with a number."
        return f"Answer with a number rounded to {_PLACES.get(p, f'{p} decimal places')}."
    if answer_type == "list":
        return "Answer with a Python list, e.g. [1, 2, 3]."
    return ""


def convert_row(raw: dict, where: str, ctx: BuildContext, *, split: str, prompt_style: str) -> dict:
    pid = id_column(raw, "pid", where)
    question = no_image_token(str_column(raw, "question", where), "question", where)
    answer = answer_column(raw, "answer", where, why="the test split has no public answers")
    image = single_image(raw, ctx, where)
    qt = raw.get("question_type")
    choices = raw.get("choices") or []
    meta = raw.get("metadata") or {}
    text = question.strip()
    unit = (raw.get("unit") or "").strip()
    if qt == "multi_choice":
        if not isinstance(choices, list) or len(choices) < 2:
            raise BadRowError(f"{where}: multi_choice row with choices {choices!r:.80}")
        matches = [i for i, c in enumerate(choices) if str(c).strip() == answer]
        if not matches:
            raise BadRowError(f"{where}: answer {answer!r} matches none of the choices {choices!r:.120}")
        letters = option_letters(len(choices))
        if len(matches) > 1:
            # pid 781: choices ['9', '12', '18', '18'], answer '18'. Both letters name the gold text, and
            # MathVista's scorer (letter -> choice text, compared with the answer) accepts either.
            ctx.note("duplicate_choice_gold")
        options = [str(c) for c in choices]
        if any(letter_of(o) for o in options):
            ctx.note("letter_valued_options")
        qtext = question_with_options(f"{IMAGE_TOKEN}\n{text}", options)
        qtype, gt, golds = MULTIPLE_CHOICE, letters[matches[0]], [letters[i] for i in matches]
    elif qt == "free_form":
        req = answer_requirement(raw.get("answer_type") or "", raw.get("precision"))
        if unit:
            text = f"{text} (Unit: {unit})"
        qtext = f"{IMAGE_TOKEN}\n{text}" + (f"\n{req}" if req else "")
        options, qtype, gt, golds = [], FREE_FORM, answer, [answer]
    else:
        raise BadRowError(f"{where}: column question_type is {qt!r}, expected multi_choice or free_form")
    return benchmark_row(
        data_source=DATA_SOURCE, split=split, prompt_style=prompt_style,
        question=qtext, answer=gt, images=[image], question_type=qtype, id=pid, ability="math",
        options=options, gold_answers=golds, subject=meta.get("task") or "", subfield=meta.get("category") or "",
        difficulty=meta.get("grade") or "", source_dataset=meta.get("source") or REPO_ID,
    )


SPEC = DatasetSpec(
    name="mathvista",
    description="MathVista (AI4Math/MathVista) testmini -> verl parquet (mathvista_testmini.parquet).",
    repo_id=REPO_ID, splits=SPLITS, default_split="testmini", convert=convert_row, expected=EXPECTED,
    json_names=JSON_NAMES, split_note="test has no public answers")


def build_mathvista(**kwargs) -> dict:
    """Write ``<output_dir>/mathvista_<split>.parquet``; returns the summary dict (see :func:`build_dataset`)."""
    inp = kwargs.get("input")
    if inp is not None and os.path.basename(os.fspath(inp)).startswith("annot_"):
        raise InputError(f"input {inp}: this is MathVista's annotation file (a dict of annotations per pid), not "
                         "the questions; pass the release folder or its data/testmini.json instead")
    return build_dataset(SPEC, **kwargs)


def main(argv=None) -> int:
    return cli.main_for(SPEC, build_mathvista, argv)
