"""MMMU (``MMMU/MMMU``) -> ``mmmu_<split>.parquet`` in the project schema (data.md §1, §7.2, §8.2).

Rules:

* ``<image N>`` placeholders (regex ``<image\\s*(\\d+)>``) in the question and then in each option, in
  textual order, become ``<image>`` and append ``image_N`` to ``images`` once per occurrence (repeats
  and out-of-order references are kept as they occur). A placeholder whose ``image_N`` is null is a bad
  row. A row with images but no placeholder gets ``<image>\\n`` prepended per non-null image column
  (normally just ``image_1``).
* ``options`` is a stringified Python list, parsed with ``ast.literal_eval`` (literals only) and
  rendered ``A. text`` lines; the multiple-choice gold letter must index an option.
  ``extra_info.options`` keeps the original option strings (``<image 2>`` references included), while
  ``extra_info.question`` / the prompt show them with ``<image>`` tokens.
* Open questions: a list-valued answer (``"['24/7', '3.429']"``) becomes ``gold_answers`` (the first is
  ``ground_truth``); a few open questions have letter golds (choices inside the image) and stay free form.
* ``reference_solution`` = ``explanation``; ``subject`` from the id (``validation_Art_Theory_3`` ->
  ``Art_Theory``); ``difficulty`` = ``topic_difficulty``.
* Known sizes: dev 150, validation 900 (847 multiple choice + 53 open), test 10,500; a full split with
  other counts fails unless ``--limit`` / ``--subjects`` / ``--allow-count-mismatch``.
"""

from __future__ import annotations

import re

from rlsd_verl.data import cli
from rlsd_verl.data.answers import letter_of, parse_gold_list, parse_list_literal
from rlsd_verl.data.build import BadRowError, BuildContext, DatasetSpec, Expected, build_dataset
from rlsd_verl.data.columns import benchmark_row, option_letter, str_column
from rlsd_verl.data.prompts import question_with_options
from rlsd_verl.data.schema import FREE_FORM, IMAGE_TOKEN, MULTIPLE_CHOICE

DATA_SOURCE = "MMMU/MMMU"
REPO_ID = "MMMU/MMMU"
SPLITS = ("dev", "validation", "test")
SUBJECTS = (
    "Accounting", "Agriculture", "Architecture_and_Engineering", "Art", "Art_Theory", "Basic_Medical_Science",
    "Biology", "Chemistry", "Clinical_Medicine", "Computer_Science", "Design",
    "Diagnostics_and_Laboratory_Medicine", "Economics", "Electronics", "Energy_and_Power", "Finance",
    "Geography", "History", "Literature", "Manage", "Marketing", "Materials", "Math", "Mechanical_Engineering",
    "Music", "Pharmacy", "Physics", "Psychology", "Public_Health", "Sociology",
)
EXPECTED = {
    "dev": Expected(150),
    "validation": Expected(900, multiple_choice=847, free_form=53),
    "test": Expected(10500),
}
MAX_IMAGES = 7
PLACEHOLDER_RE = re.compile(r"<image\s*(\d+)>")
QUESTION_TYPES = {"multiple-choice": MULTIPLE_CHOICE, "open": FREE_FORM}
# hub layout: per-subject folders (sharded test files included), then merged mirrors (lmms-lab/MMMU).
PATTERNS = ("*/{split}-*.parquet", "data/{split}-*.parquet", "{split}-*.parquet")


def subject_of(row_id: str) -> str:
    """``validation_Art_Theory_3`` -> ``Art_Theory``."""
    parts = row_id.split("_")
    if len(parts) < 3:
        raise ValueError(f"id {row_id!r} is not of the form <split>_<Subject>_<n>")
    return "_".join(parts[1:-1])


def convert_row(raw: dict, where: str, ctx: BuildContext, *, split: str, prompt_style: str,
                subjects: set[str] | None = None) -> dict | None:
    rid = str_column(raw, "id", where)
    if not rid.startswith(f"{split}_"):
        raise BadRowError(f"{where}: id {rid!r} does not belong to split {split!r} (wrong input file?)")
    subject = subject_of(rid)
    if subjects is not None and subject not in subjects:
        return None
    question = str_column(raw, "question", where)
    try:
        options = parse_list_literal(raw.get("options"), f"{where}, column options")
    except ValueError as e:
        raise BadRowError(str(e)) from None
    qt_raw = str_column(raw, "question_type", where)
    if qt_raw not in QUESTION_TYPES:
        raise BadRowError(f"{where}: column question_type is {qt_raw!r}, expected one of {sorted(QUESTION_TYPES)}")
    qtype = QUESTION_TYPES[qt_raw]
    if IMAGE_TOKEN in question or any(IMAGE_TOKEN in o for o in options):
        raise BadRowError(f"{where}: question/options already contain a literal {IMAGE_TOKEN!r} token")

    images: list[bytes] = []
    decoded: dict[int, bytes] = {}
    order: list[int] = []

    def take(m: re.Match) -> str:
        n = int(m.group(1))
        col = f"image_{n}"
        if raw.get(col) is None:
            raise BadRowError(f"{where}: placeholder {m.group(0)!r} refers to column {col}, which is null/absent")
        if n not in decoded:
            decoded[n] = ctx.image(raw[col], f"{where}, column {col}")
        images.append(decoded[n])
        order.append(n)
        return IMAGE_TOKEN

    new_question = PLACEHOLDER_RE.sub(take, question)
    new_options = [PLACEHOLDER_RE.sub(take, o) for o in options]
    present = [n for n in range(1, MAX_IMAGES + 1) if raw.get(f"image_{n}") is not None]
    if not order:
        if present:
            prefix = ""
            for n in present:
                images.append(ctx.image(raw[f"image_{n}"], f"{where}, column image_{n}"))
                prefix += f"{IMAGE_TOKEN}\n"
            new_question = prefix + new_question
            ctx.note("no_placeholder_image_prepended")
        else:
            ctx.note("rows_without_images")
    else:
        if len(order) != len(set(order)):
            ctx.note("repeated_placeholder")
        if order != sorted(order):
            ctx.note("out_of_order_placeholders")
        if set(present) - set(order):
            ctx.note("unreferenced_image_columns")
        if any(IMAGE_TOKEN in o for o in new_options):
            ctx.note("image_options")

    answer = str_column(raw, "answer", where).strip()
    if qtype == MULTIPLE_CHOICE:
        if not options:
            raise BadRowError(f"{where}: multiple-choice row with empty options {raw.get('options')!r}")
        gt = option_letter(letter_of(answer), len(options), answer, where)
        golds = [gt]
        qtext = question_with_options(new_question, new_options)
    else:
        golds = parse_gold_list(answer)
        if len(golds) > 1:
            ctx.note("list_gold")
        if letter_of(golds[0]):
            ctx.note("open_question_letter_gold")
        gt = golds[0]
        qtext = new_question
        if options:
            ctx.note("open_question_with_options_ignored")
    return benchmark_row(
        data_source=DATA_SOURCE, split=split, prompt_style=prompt_style,
        question=qtext, answer=gt, images=images, question_type=qtype, id=rid, ability="mmmu",
        options=options if qtype == MULTIPLE_CHOICE else [], gold_answers=golds, subject=subject,
        reference_solution=str_column(raw, "explanation", where, allow_empty=True),
        subfield=str_column(raw, "subfield", where, allow_empty=True),
        difficulty=str_column(raw, "topic_difficulty", where, allow_empty=True),
    )


SPEC = DatasetSpec(
    name="mmmu", description="MMMU (MMMU/MMMU) -> verl parquet (mmmu_<split>.parquet).", repo_id=REPO_ID,
    splits=SPLITS, default_split="validation", convert=convert_row, expected=EXPECTED, patterns=PATTERNS,
    disk_subdirs=True, allow_patterns=("*/{split}-*.parquet",))


def build_mmmu(*, subjects=None, **kwargs) -> dict:
    """Write ``<output_dir>/mmmu_<split>.parquet``; returns the summary dict (see :func:`build_dataset`).

    ``subjects`` (folder names such as ``Accounting``) selects part of the split and disables the
    count check.
    """
    subject_set = None
    if subjects:
        unknown = sorted(set(subjects) - set(SUBJECTS))
        if unknown:
            raise ValueError(f"unknown MMMU subject(s) {unknown}; known: {', '.join(SUBJECTS)}")
        subject_set = set(subjects)
    allow = tuple(f"{s}/{{split}}-*.parquet" for s in sorted(subject_set)) if subject_set else None
    return build_dataset(SPEC, convert_kwargs={"subjects": subject_set}, allow_patterns=allow,
                         subset=subject_set is not None,
                         extra_summary={"subjects": sorted(subject_set) if subject_set else "all"}, **kwargs)


def main(argv=None) -> int:
    p = cli.spec_parser(SPEC)
    p.add_argument("--subjects", nargs="+", default=None, metavar="SUBJECT",
                   help="only these subjects (folder names, e.g. Accounting Art_Theory); disables the count check")
    args = p.parse_args(argv)
    subjects = [s for item in (args.subjects or []) for s in item.split(",") if s] or None
    return cli.run(build_mmmu, dict(cli.common_kwargs(args), subjects=subjects))
