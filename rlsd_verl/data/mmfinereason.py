"""MMFineReason-123K (the RLSD paper's training set) -> ``mmfinereason_train.parquet`` (+ ``_val``).

Input: ``OpenDataArena/MMFineReason-SFT-123K-Qwen3-VL-235B-Thinking`` (122,603 rows in
``data/train-*.parquet`` shards; RLSD's ``iieycx/rlsd-train-MMFineReason-123K`` is derived from it) or
an RLSD-style JSON/JSONL file. Columns read (data.md §4.1; the exact column list is unverified, so the
common aliases are accepted):

* question: ``question`` (contains ``<image>`` tokens) or ``problem`` (RLSD JSONL);
* gold: ``answer``; images: ``image`` (one Image) or ``images`` (list of Image / bytes / relative paths);
* reasoning trace: ``qwen3vl_235b_thinking_response`` (``--trace-column``) -> ``reference_solution``
  (optionally only its last ``--max-solution-chars`` characters);
* ``source`` (BMMR, MMK12, GameQA-140K, ...) -> ``source_dataset``; ``id`` (generated when absent);
  optional ``options`` list (RLSD JSONL), optional ``is_consistent``.

Kept: rows whose gold a rule can verify (option letter, yes/no, number, short math expression that
``math_verify`` parses; see :func:`rlsd_verl.data.answers.verifiable_kind`) and whose ``<image>``
count equals the number of images. Everything else is dropped, counted by reason and listed row by
row in ``mmfinereason.problems.jsonl``: ``empty_question_or_answer``, ``no_image``,
``image_token_mismatch``, ``multi_part_gold`` (``'2     4:1'``: answers to several sub-questions,
which no single reply can match), ``answer_not_rule_verifiable``, ``letter_gold_outside_options``,
and with ``--drop-inconsistent`` ``inconsistent_trace``. A corrupt image is an error (or skipped and
counted with ``--skip-bad``).

Options: an ``options`` column, else ``A. ...`` / ``(A) ...`` lines in the question, else options
written on one line (``Choices: A.256; B.512; C.944``). With options, a letter gold - or a gold that
is one option's content (``944`` -> ``C``; the content stays in ``gold_answers``) - makes the row
multiple choice; a letter gold without a parseable list (choices drawn in the image) stays free form.
``id`` is ``<source>/<id>``: the release's ids restart in every source subset. ``--val-fraction``
moves a deterministic slice (by SHA-1 of the id) into ``mmfinereason_val.parquet``.
"""

from __future__ import annotations

import hashlib
import os
import re

from rlsd_verl.data import cli
from rlsd_verl.data.answers import (
    clean_gold,
    gold_parts,
    inline_options,
    letter_of,
    option_index_of_content,
    options_from_text,
    verifiable_kind,
)
from rlsd_verl.data.build import BadRowError, BuildContext, DatasetSpec, DropRow, build_dataset
from rlsd_verl.data.columns import benchmark_row
from rlsd_verl.data.prompts import question_with_options
from rlsd_verl.data.schema import FREE_FORM, IMAGE_TOKEN, MULTIPLE_CHOICE

DATA_SOURCE = "OpenDataArena/MMFineReason-SFT-123K-Qwen3-VL-235B-Thinking"
REPO_ID = DATA_SOURCE
RLSD_REPO_ID = "iieycx/rlsd-train-MMFineReason-123K"
KNOWN_SOURCE_ROWS = 122603
SPLITS = ("train",)
JSON_NAMES = ("data/{split}.jsonl", "{split}.jsonl", "data/{split}.json", "{split}.json")
TRACE_COLUMN = "qwen3vl_235b_thinking_response"
_OPTION_PREFIX = re.compile(r"^\s*\(?[A-Z]\)?[.:)]\s*")


def val_bucket(row_id: str, fraction: float) -> bool:
    """Deterministic: True for about ``fraction`` of ids (SHA-1 of the id, independent of row order)."""
    if fraction <= 0:
        return False
    h = int.from_bytes(hashlib.sha1(row_id.encode("utf-8")).digest()[:8], "big")
    return h / float(1 << 64) < fraction


def convert_row(raw: dict, where: str, ctx: BuildContext, *, prompt_style: str, split: str = "train",
                trace_column: str = TRACE_COLUMN, max_solution_chars: int = 0,
                drop_inconsistent: bool = False, data_source: str = DATA_SOURCE) -> dict:
    question = raw.get("question") if raw.get("question") is not None else raw.get("problem")
    answer = raw.get("answer")
    if not isinstance(question, str) or not question.strip() or answer is None or not str(answer).strip():
        raise DropRow("empty_question_or_answer")
    answer = str(answer).strip()
    if drop_inconsistent and raw.get("is_consistent") is False:
        raise DropRow("inconsistent_trace")
    if raw.get("images") is not None:
        col, values = "images", list(raw["images"])
    elif raw.get("image") is not None:
        col, values = "image", [raw["image"]]
    else:
        col, values = "image", []
    if not values:
        raise DropRow("no_image")
    n_tok = question.count(IMAGE_TOKEN)
    if n_tok != len(values):
        raise DropRow("image_token_mismatch", f"{n_tok} tokens, {len(values)} images")
    parts = gold_parts(answer)
    if len(parts) > 1:
        # answers to several sub-questions ("2     4:1"): no single reply can be checked against it
        raise DropRow("multi_part_gold", f"gold {answer!r} has {len(parts)} parts {parts!r:.80}")

    options = raw.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise BadRowError(f"{where}: column options must be a list of strings, got {options!r:.80}")
    options = [_OPTION_PREFIX.sub("", o, count=1) for o in options]
    qtext = question_with_options(question, options) if options else question
    parsed = options or options_from_text(question)
    if not parsed:
        parsed = inline_options(question)
        if parsed:
            ctx.note("inline_options")
    gold = clean_gold(answer)
    letter = letter_of(gold)
    if letter is None and parsed:
        idx = option_index_of_content(gold, parsed)
        if idx is not None:
            # the gold is an option's content ("944" with "A.256; B.512; C.944" in the question): the
            # prompt asks for the letter, so the letter is the gold (the content stays in gold_answers)
            letter = chr(65 + idx)
            ctx.note("content_gold_to_letter")
    if letter is not None and parsed:
        if ord(letter) - 65 >= len(parsed):
            raise DropRow("letter_gold_outside_options", f"gold {letter} but {len(parsed)} options")
        qtype, gt, opts, kind = MULTIPLE_CHOICE, letter, list(parsed), "letter"
    else:
        kind = verifiable_kind(answer)
        if kind is None:
            raise DropRow("answer_not_rule_verifiable", f"gold {answer!r:.80}")
        qtype, opts = FREE_FORM, []
        gt = letter if letter is not None else gold
        if letter is not None:
            ctx.note("letter_gold_without_options")
    ctx.note(f"gold_kind_{kind}")
    images = [ctx.image(v, f"{where}, column {col}[{i}]") for i, v in enumerate(values)]
    trace = raw.get(trace_column) or ""
    if not isinstance(trace, str):
        trace = str(trace)
    if max_solution_chars and len(trace) > max_solution_chars:
        trace = trace[-max_solution_chars:]
        ctx.note("reference_solution_truncated")
    if not trace:
        ctx.note("no_reference_solution")
    source_name = raw.get("source") or raw.get("data_source") or ""
    if raw.get("id") in (None, ""):
        rid = f"mmfinereason-{ctx.row_number}"
    else:
        # ids restart in every source subset (FineVision-ai2d_merged id 8, FineVision-geo170k(qa) id 8):
        # the pair is the stable unique id
        rid = f"{source_name}/{raw['id']}" if source_name else str(raw["id"])
    if source_name:
        ctx.note(f"kept_from_source:{source_name}")
    return benchmark_row(
        data_source=data_source, split="train", prompt_style=prompt_style,
        question=qtext, answer=gt, images=images, question_type=qtype, id=rid, ability="reasoning",
        options=opts, gold_answers=[gt] + ([answer] if answer != gt else []), reference_solution=trace,
        source_dataset=str(source_name) or data_source,
    )


SPEC = DatasetSpec(
    name="mmfinereason", description="MMFineReason-123K (RLSD's training set) -> verl parquet, keeping rule-verifiable "
                                     "rows (mmfinereason_train.parquet [+ mmfinereason_val.parquet]).",
    repo_id=REPO_ID, splits=SPLITS, default_split="train", convert=convert_row, json_names=JSON_NAMES)


def build_mmfinereason(*, output_dir: str, allow_count_mismatch: bool = False, val_fraction: float = 0.0,
                       trace_column: str = TRACE_COLUMN, max_solution_chars: int = 0,
                       drop_inconsistent: bool = False, data_source: str = DATA_SOURCE, **kwargs) -> dict:
    """Write ``mmfinereason_train.parquet`` (and ``mmfinereason_val.parquet`` if ``val_fraction``)."""
    del allow_count_mismatch  # a filtered training set has no fixed size
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"--val-fraction must be in [0, 1), got {val_fraction}")

    def route(row: dict) -> str:
        if val_bucket(row["extra_info"]["id"], val_fraction):
            row["extra_info"]["split"] = "val"
        return row["extra_info"]["split"]

    outputs = {"train": os.path.join(output_dir, "mmfinereason_train.parquet")}
    if val_fraction > 0:
        outputs["val"] = os.path.join(output_dir, "mmfinereason_val.parquet")
    return build_dataset(
        SPEC, output_dir=output_dir, outputs=outputs, route=route, summary_name="mmfinereason",
        convert_kwargs=dict(trace_column=trace_column, max_solution_chars=max_solution_chars,
                            drop_inconsistent=drop_inconsistent, data_source=data_source),
        extra_summary={"known_source_rows": KNOWN_SOURCE_ROWS, "val_fraction": val_fraction}, **kwargs)


def main(argv=None) -> int:
    p = cli.spec_parser(SPEC)
    p.add_argument("--val-fraction", type=float, default=0.0,
                   help="deterministic share of rows (by id hash) written to mmfinereason_val.parquet")
    p.add_argument("--trace-column", default=TRACE_COLUMN, help="column holding the reasoning trace (default %(default)s)")
    p.add_argument("--max-solution-chars", type=int, default=0,
                   help="keep only the last N characters of the trace as reference_solution (0 = all)")
    p.add_argument("--drop-inconsistent", action="store_true",
                   help="drop rows whose is_consistent column is false")
    p.add_argument("--data-source", default=DATA_SOURCE, help="data_source value (default %(default)s)")
    args = p.parse_args(argv)
    return cli.run(build_mmfinereason, dict(cli.common_kwargs(args), val_fraction=args.val_fraction,
                                            trace_column=args.trace_column,
                                            max_solution_chars=args.max_solution_chars,
                                            drop_inconsistent=args.drop_inconsistent, data_source=args.data_source))
