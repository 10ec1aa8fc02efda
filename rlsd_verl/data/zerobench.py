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

import functools

from rlsd_verl.data import cli
from rlsd_verl.data.build import BadRowError, BuildContext, Expected, build_split
from rlsd_verl.data.prompts import user_content
from rlsd_verl.data.schema import FREE_FORM, IMAGE_TOKEN, make_row
from rlsd_verl.data.sources import open_source

REPO_ID = "jonathan-roberts1/zerobench"
SPLITS = ("zerobench", "zerobench_subquestions")
ALIASES = {"main": "zerobench", "sub": "zerobench_subquestions"}
DATA_SOURCES = {"zerobench": REPO_ID, "zerobench_subquestions": f"{REPO_ID}_subquestions"}
EXPECTED = {"zerobench": Expected(100, multiple_choice=0, free_form=100),
            "zerobench_subquestions": Expected(334, multiple_choice=0, free_form=334)}
PATTERNS = ("data/{split}-*.parquet", "{split}-*.parquet")
JSON_NAMES = ("{split}.jsonl", "{split}.json")
NATIVE_SUFFIX = "Answer with only the final answer."


def convert_row(raw: dict, where: str, ctx: BuildContext, *, split: str, prompt_style: str) -> dict:
    qid = raw.get("question_id")
    if qid in (None, ""):
        raise BadRowError(f"{where}: column question_id is missing")
    text = raw.get("question_text")
    if not isinstance(text, str) or not text.strip():
        raise BadRowError(f"{where}: column question_text is empty")
    if IMAGE_TOKEN in text:
        raise BadRowError(f"{where}: question_text already contains a literal {IMAGE_TOKEN!r} token")
    answer = raw.get("question_answer")
    if answer is None or not str(answer).strip():
        raise BadRowError(f"{where}: column question_answer is empty")
    answer = str(answer).strip()
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
    return make_row(
        data_source=DATA_SOURCES[split],
        question=qtext,
        answer=answer,
        images=images,
        prompt_content=user_content(qtext, prompt_style, FREE_FORM, native_free_form=NATIVE_SUFFIX),
        ability="visual_reasoning",
        id=str(qid),
        split=split,
        index=0,
        question_type=FREE_FORM,
        source_dataset=REPO_ID,
    )


def build_zerobench(*, input=None, split: str = "zerobench", output_dir: str, limit: int | None = None,
                    prompt_style: str = "rlsd", max_pixels: int | None = None, skip_bad: bool = False,
                    allow_count_mismatch: bool = False, progress: bool = True, workers: int = 1,
                    from_hub: bool = False, hub_dir: str | None = None, revision: str | None = None) -> dict:
    """Write ``<output_dir>/zerobench_<split>.parquet``; returns the summary dict."""
    split = ALIASES.get(split, split)
    if split not in SPLITS:
        raise ValueError(f"ZeroBench split must be one of {SPLITS} (or {sorted(ALIASES)}), got {split!r}")
    source = open_source(input=input, split=split, patterns=PATTERNS, json_names=JSON_NAMES, from_hub=from_hub,
                         repo_id=REPO_ID, allow_patterns=[f"data/{split}-*.parquet"], hub_dir=hub_dir,
                         revision=revision)
    return build_split("zerobench", split, output_dir, source,
                       functools.partial(convert_row, split=split, prompt_style=prompt_style),
                       EXPECTED[split], limit=limit, allow_count_mismatch=allow_count_mismatch, skip_bad=skip_bad,
                       progress=progress, workers=workers, prompt_style=prompt_style, max_pixels=max_pixels)


def main(argv=None) -> int:
    p = cli.base_parser("ZeroBench (jonathan-roberts1/zerobench) -> verl parquet (zerobench_<split>.parquet).",
                        list(SPLITS) + sorted(ALIASES), "zerobench")
    return cli.run(build_zerobench, cli.common_kwargs(p.parse_args(argv)))
