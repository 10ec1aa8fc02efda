"""ZeroBench (``jonathan-roberts1/zerobench``) -> ``zerobench_<split>.parquet``.

Splits: ``zerobench`` (the 100 main questions; alias ``main``) and ``zerobench_subquestions`` (334
sub-questions; alias ``sub``). Columns (dataset as used by lmms-eval): ``question_id``,
``question_text``, ``question_images_decoded`` (list of Image), ``question_answer``,
``question_images`` (list of file names), ``image_attribution``.

Rules: every question is free form (exact-match scoring); the images are prepended in order, one
``<image>`` per image (the questions carry no placeholders). The two splits get distinct
``data_source`` values so verl reports them separately: ``jonathan-roberts1/zerobench`` and
``jonathan-roberts1/zerobench_subquestions``. ``native`` prompt style uses ZeroBench's own suffix
("Answer with only the final answer.").
"""

from __future__ import annotations

from rlsd_verl.data import cli
from rlsd_verl.data.build import BadRowError, BuildContext, DatasetSpec, Expected, build_dataset
from rlsd_verl.data.columns import answer_column, benchmark_row, id_column, no_image_token, str_column
from rlsd_verl.data.schema import FREE_FORM, IMAGE_TOKEN

REPO_ID = "jonathan-roberts1/zerobench"
SPLITS = ("zerobench", "zerobench_subquestions")
ALIASES = {"main": "zerobench", "sub": "zerobench_subquestions"}
DATA_SOURCES = {"zerobench": REPO_ID, "zerobench_subquestions": f"{REPO_ID}_subquestions"}
EXPECTED = {"zerobench": Expected(100, multiple_choice=0, free_form=100),
            "zerobench_subquestions": Expected(334, multiple_choice=0, free_form=334)}
JSON_NAMES = ("{split}.jsonl", "{split}.json")
NATIVE_SUFFIX = "Answer with only the final answer."


def convert_row(raw: dict, where: str, ctx: BuildContext, *, split: str, prompt_style: str) -> dict:
    qid = id_column(raw, "question_id", where)
    text = no_image_token(str_column(raw, "question_text", where), "question_text", where)
    answer = answer_column(raw, "question_answer", where)
    decoded = raw.get("question_images_decoded")
    if decoded:
        col, values = "question_images_decoded", list(decoded)
    else:
        col, values = "question_images", list(raw.get("question_images") or [])
    if not values:
        raise BadRowError(f"{where}: no images in question_images_decoded / question_images")
    images = [ctx.image(v, f"{where}, column {col}[{i}]") for i, v in enumerate(values)]
    if len(images) > 1:
        ctx.note("multi_image_questions")
    qtext = f"{IMAGE_TOKEN}\n" * len(images) + text.strip()
    return benchmark_row(
        data_source=DATA_SOURCES[split], split=split, prompt_style=prompt_style,
        question=qtext, answer=answer, images=images, question_type=FREE_FORM, id=qid, ability="visual_reasoning",
        native={"native_free_form": NATIVE_SUFFIX}, source_dataset=REPO_ID,
    )


SPEC = DatasetSpec(
    name="zerobench",
    description="ZeroBench (jonathan-roberts1/zerobench) -> verl parquet (zerobench_<split>.parquet).",
    repo_id=REPO_ID, splits=SPLITS, default_split="zerobench", convert=convert_row, expected=EXPECTED,
    json_names=JSON_NAMES, aliases=ALIASES)


def build_zerobench(**kwargs) -> dict:
    """Write ``<output_dir>/zerobench_<split>.parquet``; returns the summary dict (see :func:`build_dataset`)."""
    return build_dataset(SPEC, **kwargs)


def main(argv=None) -> int:
    return cli.main_for(SPEC, build_zerobench, argv)
