"""geometry3k (``hiyouga/geometry3k``, verl's geo3k example set) -> ``geometry3k_<split>.parquet``.

Columns (dataset card / verl's ``examples/data_preprocess/geo3k.py``): ``images`` (list of Image),
``problem`` (already contains the ``<image>`` token, e.g. ``"<image>Find x."``), ``answer``.
Rules: the number of ``<image>`` tokens must equal the number of images (a problem without any token
but with images gets them prepended, counted in the notes; any other mismatch is a bad row); all rows
are free form; ``data_source`` stays ``hiyouga/geometry3k`` (verl's built-in geo3k scorer knows it);
ids are ``geometry3k-<split>-<n>`` (the set has no id column; an ``id`` column is used when present).
Known sizes: train 2101, validation 300, test 601.
"""

from __future__ import annotations

from rlsd_verl.data import cli
from rlsd_verl.data.answers import clean_gold
from rlsd_verl.data.build import BadRowError, BuildContext, DatasetSpec, Expected, build_dataset
from rlsd_verl.data.columns import answer_column, benchmark_row, str_column
from rlsd_verl.data.schema import FREE_FORM, IMAGE_TOKEN

DATA_SOURCE = "hiyouga/geometry3k"
REPO_ID = "hiyouga/geometry3k"
SPLITS = ("train", "validation", "test")
EXPECTED = {"train": Expected(2101), "validation": Expected(300), "test": Expected(601)}
JSON_NAMES = ("{split}.jsonl", "{split}.json")


def convert_row(raw: dict, where: str, ctx: BuildContext, *, split: str, prompt_style: str) -> dict:
    problem = str_column(raw, "problem", where)
    raw_answer = answer_column(raw, "answer", where)
    values = raw.get("images") or []
    images = [ctx.image(v, f"{where}, column images[{i}]") for i, v in enumerate(values)]
    n_tok = problem.count(IMAGE_TOKEN)
    if n_tok == 0 and images:
        problem = f"{IMAGE_TOKEN}" * len(images) + problem
        ctx.note("image_token_prepended")
    elif n_tok != len(images):
        raise BadRowError(f"{where}: problem has {n_tok} {IMAGE_TOKEN!r} tokens but {len(images)} images")
    gt = clean_gold(raw_answer)
    rid = str(raw["id"]) if raw.get("id") not in (None, "") else f"geometry3k-{split}-{ctx.row_number}"
    return benchmark_row(
        data_source=DATA_SOURCE, split=split, prompt_style=prompt_style,
        question=problem, answer=gt, images=images, question_type=FREE_FORM, id=rid, ability="math",
        gold_answers=[gt] + ([raw_answer] if raw_answer != gt else []),
    )


SPEC = DatasetSpec(
    name="geometry3k", description="geometry3k (hiyouga/geometry3k) -> verl parquet (geometry3k_<split>.parquet).",
    repo_id=REPO_ID, splits=SPLITS, default_split="train", convert=convert_row, expected=EXPECTED,
    json_names=JSON_NAMES)


def build_geometry3k(**kwargs) -> dict:
    """Write ``<output_dir>/geometry3k_<split>.parquet``; returns the summary dict (see :func:`build_dataset`)."""
    return build_dataset(SPEC, **kwargs)


def main(argv=None) -> int:
    return cli.main_for(SPEC, build_geometry3k, argv)
