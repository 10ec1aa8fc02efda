"""Tiny synthetic RLVR datasets (text and vision-language) for tests and the CPU demo.

The rows follow the project-wide schema in :mod:`rlsd_verl.data.schema` (verl's geo3k contract plus a
fixed ``extra_info`` key set) and are written with its atomic ``write_parquet``, so they load through
verl's ``RLHFDataset`` exactly like the real benchmark files and can be concatenated with them.

* ``kind="text"``: small arithmetic questions ("What is 3 + 4?"), free-form numeric answers.
* ``kind="vl"``: one 56x56 PNG per row. Even rows draw an arithmetic expression on the image and ask
  for its value (free form); odd rows draw a coloured square and ask for its colour as a multiple-choice
  letter. The prompt carries exactly one ``<image>`` placeholder per image.

Every row has a rule-checkable ``reward_model.ground_truth`` and a short ``extra_info.reference_solution``
(e.g. ``"3 + 4 = 7"``) so the RLSD teacher prompt can be exercised. Generation is deterministic in
``(kind, split, seed)``. The same question/answer templates are fed to the tiny tokenizer's training
corpus (:func:`sample_texts`), so prompts tokenize into few tokens.
"""

from __future__ import annotations

import io
import os
import random
from typing import Literal

# Format instruction appended to every question (kept short: the demo's prompts must stay small).
INSTRUCTION = r"Think step by step inside <think> </think> tags, then put the final answer in \boxed{}."
TEXT_DATA_SOURCE = "rlsd_verl/synthetic_text"
VL_DATA_SOURCE = "rlsd_verl/synthetic_vl"
IMAGE_SIZE = 56  # 56x56 -> 16 patches of 14 px (Qwen2.5-VL) -> 4 image tokens after the 2x2 merge

# Colours used by the VL rows: name -> RGB. The options of the colour question are these names in order.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 60),
    "blue": (40, 70, 220),
    "yellow": (235, 200, 20),
}
_BACKGROUNDS = [(255, 255, 255), (235, 235, 235), (250, 240, 220), (220, 235, 250)]
_OPS = ("+", "-", "*")

ARITH_IMAGE_QUESTION = "What is the value of the expression shown in the image?"
COLOUR_IMAGE_QUESTION = "What is the colour of the square in the image?"


def _arith_problem(rng: random.Random) -> tuple[str, str, str]:
    """A random small arithmetic problem: (expression "a op b", answer, reference solution)."""
    op = rng.choice(_OPS)
    if op == "*":
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        value = a * b
    elif op == "-":
        a = rng.randint(0, 20)
        b = rng.randint(0, a)
        value = a - b
    else:
        a, b = rng.randint(0, 20), rng.randint(0, 20)
        value = a + b
    expr = f"{a} {op} {b}"
    return expr, str(value), f"{expr} = {value}"


def _png_bytes(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _arith_image(expr: str, rng: random.Random) -> bytes:
    """A 56x56 PNG with ``expr`` written in dark ink on a light background."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), rng.choice(_BACKGROUNDS))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    text = expr.replace(" ", "")
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = max(0, (IMAGE_SIZE - (right - left)) // 2 - left)
    y = max(0, (IMAGE_SIZE - (bottom - top)) // 2 - top)
    draw.text((x, y), text, fill=(10, 10, 10), font=font)
    return _png_bytes(img)


def _colour_image(colour: str, rng: random.Random) -> bytes:
    """A 56x56 PNG with one filled square of ``colour`` at a random position on a light background."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), rng.choice(_BACKGROUNDS))
    side = rng.randint(18, 32)
    x0, y0 = rng.randint(0, IMAGE_SIZE - side), rng.randint(0, IMAGE_SIZE - side)
    ImageDraw.Draw(img).rectangle([x0, y0, x0 + side - 1, y0 + side - 1], fill=COLOURS[colour])
    return _png_bytes(img)


def _options_block(options: list[str]) -> str:
    return "\n".join(f"{chr(65 + i)}. {opt}" for i, opt in enumerate(options))


def _common_fields(data_source: str, id_prefix: str, i: int, split: str) -> dict:
    """The :func:`~rlsd_verl.data.schema.make_row` fields every synthetic row of one kind shares."""
    return dict(
        data_source=data_source,
        instruction=INSTRUCTION,
        ability="math",
        id=f"{id_prefix}-{split}-{i:05d}",
        split=split,
        index=i,
        level=1,
        difficulty="easy",
        source_dataset=data_source,
    )


def _text_row(i: int, split: str, rng: random.Random) -> dict:
    from rlsd_verl.data.schema import FREE_FORM, make_row

    expr, answer, solution = _arith_problem(rng)
    return make_row(
        question=f"What is {expr}?",
        answer=answer,
        question_type=FREE_FORM,
        reference_solution=solution,
        subject="arithmetic",
        **_common_fields(TEXT_DATA_SOURCE, "synthetic_text", i, split),
    )


def _vl_row(i: int, split: str, rng: random.Random) -> dict:
    from rlsd_verl.data.schema import FREE_FORM, IMAGE_TOKEN, MULTIPLE_CHOICE, make_row

    common = _common_fields(VL_DATA_SOURCE, "synthetic_vl", i, split)
    if i % 2 == 0:
        expr, answer, solution = _arith_problem(rng)
        return make_row(
            question=f"{IMAGE_TOKEN}\n{ARITH_IMAGE_QUESTION}",
            answer=answer,
            images=[_arith_image(expr, rng)],
            question_type=FREE_FORM,
            reference_solution=f"The image shows {expr}. {solution}",
            subject="arithmetic",
            **common,
        )
    options = list(COLOURS)
    colour = rng.choice(options)
    letter = chr(65 + options.index(colour))
    return make_row(
        question=f"{IMAGE_TOKEN}\n{COLOUR_IMAGE_QUESTION}\n{_options_block(options)}",
        answer=letter,
        images=[_colour_image(colour, rng)],
        question_type=MULTIPLE_CHOICE,
        options=options,
        reference_solution=f"The square is {colour}, which is option {letter}.",
        subject="colour",
        **common,
    )


def make_rows(kind: Literal["text", "vl"], split: str, n: int, seed: int = 0) -> list[dict]:
    """Build ``n`` rows of ``kind`` for ``split``; deterministic in ``(kind, split, n, seed)``."""
    if kind not in ("text", "vl"):
        raise ValueError(f"kind must be 'text' or 'vl', got {kind!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of rows for split {split!r} must be a positive int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    # A string seed is hashed with SHA-512 by `random`, so it is stable across processes and versions.
    rng = random.Random(f"rlsd_verl/synthetic/{kind}/{split}/{seed}")
    make = _text_row if kind == "text" else _vl_row
    return [make(i, split, rng) for i in range(n)]


def write_synthetic_dataset(
    out_dir: str | os.PathLike,
    kind: Literal["text", "vl"],
    n_train: int = 32,
    n_val: int = 8,
    seed: int = 0,
) -> tuple[str, str]:
    """Write ``train.parquet`` and ``val.parquet`` of ``kind`` into ``out_dir``; return their paths.

    Both files are written atomically (temp file + ``os.replace``) through the project schema's
    ``write_parquet``, so a crash never leaves a half-written parquet for verl to pick up.
    """
    from rlsd_verl.data.schema import write_parquet

    if kind not in ("text", "vl"):
        raise ValueError(f"kind must be 'text' or 'vl', got {kind!r}")
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    train_path = os.path.join(out_dir, "train.parquet")
    val_path = os.path.join(out_dir, "val.parquet")
    write_parquet(make_rows(kind, "train", n_train, seed), train_path)
    write_parquet(make_rows(kind, "val", n_val, seed), val_path)
    return train_path, val_path


def sample_texts(n: int = 400, seed: int = 0) -> list[str]:
    """Question, answer and solution strings in the style of the synthetic rows (no images).

    Used as part of the tiny tokenizer's training corpus so that prompts and typical answers
    (``<think> ... </think> \\boxed{7}``) compress into few tokens.
    """
    rng = random.Random(f"rlsd_verl/synthetic/corpus/{seed}")
    options = list(COLOURS)
    texts: list[str] = []
    for _ in range(n):
        expr, answer, solution = _arith_problem(rng)
        colour = rng.choice(options)
        letter = chr(65 + options.index(colour))
        texts.extend(
            [
                f"What is {expr}?\n\n{INSTRUCTION}",
                f"<image>\n{ARITH_IMAGE_QUESTION}\n\n{INSTRUCTION}",
                f"<image>\n{COLOUR_IMAGE_QUESTION}\n{_options_block(options)}\n\n{INSTRUCTION}",
                f"<think>{solution}</think> \\boxed{{{answer}}}",
                f"<think>\nThe image shows {expr}. {solution}\n</think>\n\n\\boxed{{{answer}}}",
                f"<think>The square is {colour}, which is option {letter}.</think> \\boxed{{{letter}}}",
                f"<answer>{answer}</answer>",
                f"The answer is {answer}.",
            ]
        )
    return texts
