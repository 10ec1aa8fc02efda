"""MathVista (``AI4Math/MathVista``) testmini -> ``mathvista_testmini.parquet``.

Columns (dataset card): ``pid``, ``question``, ``image`` (relative path), ``decoded_image`` (Image),
``choices`` (list or null), ``unit``, ``precision``, ``answer``, ``question_type``
(``multi_choice`` / ``free_form``), ``answer_type`` (``integer`` / ``float`` / ``text`` / ``list``),
``metadata`` (category, context, grade, language, skills, source, split, task, image size), ``query``.

Rules:

* One image, prepended as ``<image>\\n`` (MathVista questions carry no placeholder).
* Multiple choice: the gold is the *text* of a choice; it must match exactly one choice (after
  whitespace trimming) and becomes that choice's letter; choices are rendered ``A. text``.
* Free form: the answer-format requirement that MathVista's official ``query`` spells out is kept in
  the student-visible question (integer; a float with ``precision`` decimals; a Python list), plus
  ``(Unit: ...)`` when the row has a unit. ``ground_truth`` is the answer string as given.
* ``subject`` = metadata.task, ``subfield`` = metadata.category, ``difficulty`` = metadata.grade,
  ``source_dataset`` = metadata.source (the collection the item came from, e.g. ``FigureQA``).
* Known size: testmini 1000 (540 multiple choice + 460 free form). The 5,141-row ``test`` split has
  no public answers and is not supported.
"""

from __future__ import annotations

import functools

from rlsd_verl.data import cli
from rlsd_verl.data.build import BadRowError, BuildContext, Expected, build_split
from rlsd_verl.data.prompts import question_with_options, user_content
from rlsd_verl.data.schema import FREE_FORM, IMAGE_TOKEN, MULTIPLE_CHOICE, make_row, option_letters
from rlsd_verl.data.sources import open_source

DATA_SOURCE = "AI4Math/MathVista"
REPO_ID = "AI4Math/MathVista"
SPLITS = ("testmini",)
EXPECTED = {"testmini": Expected(1000, multiple_choice=540, free_form=460)}
PATTERNS = ("data/{split}-*.parquet", "{split}-*.parquet")
JSON_NAMES = ("data/{split}.json", "{split}.json", "annot_{split}.json")
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
    pid = raw.get("pid")
    if pid in (None, ""):
        raise BadRowError(f"{where}: column pid is missing")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise BadRowError(f"{where}: column question is empty")
    if IMAGE_TOKEN in question:
        raise BadRowError(f"{where}: question already contains a literal {IMAGE_TOKEN!r} token")
    answer = raw.get("answer")
    if answer is None or not str(answer).strip():
        raise BadRowError(f"{where}: column answer is empty (the test split has no public answers)")
    answer = str(answer).strip()
    if raw.get("decoded_image") is not None:
        image = ctx.image(raw["decoded_image"], f"{where}, column decoded_image")
    elif isinstance(raw.get("image"), str) and raw["image"]:
        image = ctx.image(raw["image"], f"{where}, column image")
    else:
        raise BadRowError(f"{where}: no image (decoded_image is null and image has no path)")
    qt = raw.get("question_type")
    choices = raw.get("choices") or []
    meta = raw.get("metadata") or {}
    text = question.strip()
    unit = (raw.get("unit") or "").strip()
    if qt == "multi_choice":
        if not isinstance(choices, list) or len(choices) < 2:
            raise BadRowError(f"{where}: multi_choice row with choices {choices!r:.80}")
        matches = [i for i, c in enumerate(choices) if str(c).strip() == answer]
        if len(matches) != 1:
            raise BadRowError(f"{where}: answer {answer!r} matches {len(matches)} of the choices {choices!r:.120}")
        letter = option_letters(len(choices))[matches[0]]
        options = [str(c) for c in choices]
        qtext = question_with_options(f"{IMAGE_TOKEN}\n{text}", options)
        qtype, gt, golds = MULTIPLE_CHOICE, letter, [letter]
    elif qt == "free_form":
        req = answer_requirement(raw.get("answer_type") or "", raw.get("precision"))
        if unit:
            text = f"{text} (Unit: {unit})"
        qtext = f"{IMAGE_TOKEN}\n{text}" + (f"\n{req}" if req else "")
        options, qtype, gt, golds = [], FREE_FORM, answer, [answer]
    else:
        raise BadRowError(f"{where}: column question_type is {qt!r}, expected multi_choice or free_form")
    return make_row(
        data_source=DATA_SOURCE,
        question=qtext,
        answer=gt,
        images=[image],
        prompt_content=user_content(qtext, prompt_style, qtype),
        ability="math",
        id=str(pid),
        split=split,
        index=0,
        question_type=qtype,
        options=options,
        gold_answers=golds,
        subject=meta.get("task") or "",
        subfield=meta.get("category") or "",
        difficulty=meta.get("grade") or "",
        source_dataset=meta.get("source") or REPO_ID,
    )


def build_mathvista(*, input=None, split: str = "testmini", output_dir: str, limit: int | None = None,
                    prompt_style: str = "rlsd", max_pixels: int | None = None, skip_bad: bool = False,
                    allow_count_mismatch: bool = False, progress: bool = True, workers: int = 1,
                    from_hub: bool = False, hub_dir: str | None = None, revision: str | None = None) -> dict:
    """Write ``<output_dir>/mathvista_<split>.parquet``; returns the summary dict."""
    if split not in SPLITS:
        raise ValueError(f"MathVista split must be one of {SPLITS} (test has no public answers), got {split!r}")
    source = open_source(input=input, split=split, patterns=PATTERNS, json_names=JSON_NAMES, from_hub=from_hub,
                         repo_id=REPO_ID, allow_patterns=[f"data/{split}-*.parquet"], hub_dir=hub_dir,
                         revision=revision)
    return build_split("mathvista", split, output_dir, source,
                       functools.partial(convert_row, split=split, prompt_style=prompt_style),
                       EXPECTED[split], limit=limit, allow_count_mismatch=allow_count_mismatch, skip_bad=skip_bad,
                       progress=progress, workers=workers, prompt_style=prompt_style, max_pixels=max_pixels)


def main(argv=None) -> int:
    p = cli.base_parser("MathVista (AI4Math/MathVista) testmini -> verl parquet (mathvista_testmini.parquet).",
                        SPLITS, "testmini")
    return cli.run(build_mathvista, cli.common_kwargs(p.parse_args(argv)))
