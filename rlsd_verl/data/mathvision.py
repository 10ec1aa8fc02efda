"""MathVision (``MathLLMs/MathVision``, MATH-V) -> ``mathvision_<split>.parquet`` (data.md §2, §7.2, §8.3).

Rules:

* One composite image per question (``decoded_image``; in the GitHub layout ``data/<split>.jsonl`` the
  ``image`` column is a relative path such as ``images/1.jpg``, resolved next to the jsonl and at the
  repo root). The prompt is ``<image>\\n`` + question: the question's ``<image1>`` ... ``<image6>``
  panel references stay literal text (they name parts of the same composite image, and do not match
  verl's ``<image>`` token).
* ``options`` ``[]`` -> free form; otherwise multiple choice with a gold letter that must index an
  option. Letter-only options (``['A','B','C','D','E']``, contents drawn in the image) are rendered
  ``Choices: A, B, C, D, E``; options that are image references (``<image2>``) stay text as well.
* Golds: control characters left by a lost backslash are repaired (id 2830 ``"\\x0crac{36}{13}"`` ->
  ``"\\frac{36}{13}"``); free-form ``ground_truth`` drops ``$...$`` / ``\\boxed{}`` wrappers and the
  repaired original is kept in ``gold_answers``. Free-form rows with letter golds (ids 59, 434) stay
  free form.
* Known sizes: test 3040 (1532 multiple choice + 1508 free form), testmini 304 (190 + 114).
"""

from __future__ import annotations

from rlsd_verl.data import cli
from rlsd_verl.data.answers import clean_gold, letter_of, repair_escapes
from rlsd_verl.data.build import BadRowError, BuildContext, DatasetSpec, Expected, build_dataset
from rlsd_verl.data.columns import benchmark_row, id_column, no_image_token, option_letter, single_image, str_column
from rlsd_verl.data.prompts import is_letter_only, question_with_options
from rlsd_verl.data.schema import FREE_FORM, IMAGE_TOKEN, MULTIPLE_CHOICE

DATA_SOURCE = "MathLLMs/MathVision"
REPO_ID = "MathLLMs/MathVision"
SPLITS = ("test", "testmini")
EXPECTED = {
    "test": Expected(3040, multiple_choice=1532, free_form=1508),
    "testmini": Expected(304, multiple_choice=190, free_form=114),
}
JSON_NAMES = ("data/{split}.jsonl", "{split}.jsonl", "data/{split}.json", "{split}.json")


def convert_row(raw: dict, where: str, ctx: BuildContext, *, split: str, prompt_style: str) -> dict:
    rid = id_column(raw, "id", where)
    question = no_image_token(str_column(raw, "question", where), "question", where)
    options = raw.get("options")
    if options is None:
        options = []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise BadRowError(f"{where}: column options must be a list of strings, got {options!r:.80}")
    image = single_image(raw, ctx, where)
    if "<image1>" not in question:
        ctx.note("question_without_image1_reference")

    answer_raw = str_column(raw, "answer", where)
    repaired = repair_escapes(answer_raw)
    if repaired != answer_raw:
        ctx.note("repaired_gold_escapes")
    if options:
        qtype = MULTIPLE_CHOICE
        gt = option_letter(letter_of(repaired), len(options), answer_raw, where)
        golds = [gt]
        if is_letter_only(options):
            ctx.note("letter_only_options")
        elif any(o.strip().startswith("<image") for o in options):
            ctx.note("image_reference_options")
    else:
        qtype = FREE_FORM
        gt = clean_gold(repaired)
        golds = [gt] + ([repaired.strip()] if repaired.strip() != gt else [])
        if gt != repaired.strip():
            ctx.note("gold_wrapper_stripped")
        if letter_of(gt):
            ctx.note("free_form_letter_gold")
    qtext = question_with_options(f"{IMAGE_TOKEN}\n{question}", options)
    level = raw.get("level")
    try:
        level = int(level) if level is not None and str(level).strip() != "" else None
    except (TypeError, ValueError):
        raise BadRowError(f"{where}: column level {level!r} is not an integer") from None
    return benchmark_row(
        data_source=DATA_SOURCE, split=split, prompt_style=prompt_style,
        question=qtext, answer=gt, images=[image], question_type=qtype, id=rid, ability="math",
        options=options, gold_answers=golds, level=level,
        reference_solution=str_column(raw, "solution", where, allow_empty=True),
        subject=str_column(raw, "subject", where, allow_empty=True),
    )


SPEC = DatasetSpec(
    name="mathvision", description="MathVision (MathLLMs/MathVision) -> verl parquet (mathvision_<split>.parquet). "
                                   "--input also accepts the GitHub layout (data/<split>.jsonl + images/).",
    repo_id=REPO_ID, splits=SPLITS, default_split="test", convert=convert_row, expected=EXPECTED,
    json_names=JSON_NAMES)


def build_mathvision(**kwargs) -> dict:
    """Write ``<output_dir>/mathvision_<split>.parquet``; returns the summary dict (see :func:`build_dataset`)."""
    return build_dataset(SPEC, **kwargs)


def main(argv=None) -> int:
    return cli.main_for(SPEC, build_mathvision, argv)
