"""Single-digit addition for SmolLM2-135M-Instruct: a real RLVR task for a real model on CPU.

"What is 7 + 8?" as one user turn, nothing else: the base model answers in its own words ("7 + 8 = 15",
"The answer is 15.", or a ramble) and is right about one time in five at temperature 1.0 (measured by
``benchmarks/base_pass_at_1.py``; see the README), so GRPO groups have signal and there is room to
learn. The verifier is :mod:`rlsd_verl.rewards.final_number` (0/1 on the final number).

Held-out split: the 100 ordered pairs ``(a, b)``, ``0 <= a, b <= 9``, are shuffled once (fixed seed) and
the first :data:`N_VAL_PAIRS` are the validation questions; training rows are drawn only from the other
pairs, so validation accuracy measures generalisation to unseen sums, not memorised prompts.

Rows follow the project schema (:mod:`rlsd_verl.data.schema`) with ``reward_model.ground_truth`` (the
sum) and ``extra_info.reference_solution`` (``"7 + 8 = 15"``), written atomically.
"""

from __future__ import annotations

import itertools
import os
import random

DATA_SOURCE = "rlsd_verl/addition"
QUESTION = "What is {a} + {b}?"
N_VAL_PAIRS = 32
_PAIRS_SEED = "rlsd_verl/addition/pairs"

#: The tasks of :func:`make_rows` (``task=``): ``single`` is the single-digit sum above; the others need
#: more than one step: ``three`` and ``three_hint`` add three digits (``a + b``, then ``+ c``), ``two_digit``
#: adds two two-digit numbers (10–49, a carry in about half of them). ``operands`` gives each operand's
#: inclusive range. The held-out questions of a task are the first ``n_val`` of its question space shuffled
#: once (fixed seed); training rows come only from the rest. ``hint`` tasks add a format instruction.
TASKS = {
    "single": {"operands": ((0, 9), (0, 9)), "n_val": N_VAL_PAIRS, "question": QUESTION},
    "three": {"operands": ((0, 9),) * 3, "n_val": 128, "question": "What is {a} + {b} + {c}?"},
    "three_hint": {
        "operands": ((0, 9),) * 3, "n_val": 128,
        "question": "What is {a} + {b} + {c}? Add the first two numbers, then add the third. End with the sum.",
    },
    "two_digit": {"operands": ((10, 49), (10, 49)), "n_val": 64, "question": QUESTION},
}


def split_items(task: str = "single") -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """``(train, val)`` operand tuples of ``task`` (:data:`TASKS`): a fixed, disjoint split of its question space."""
    if task not in TASKS:
        raise ValueError(f"addition task {task!r} is not one of {sorted(TASKS)}")
    if task == "single":
        return split_pairs()
    spec = TASKS[task]
    items = list(itertools.product(*(range(lo, hi + 1) for lo, hi in spec["operands"])))
    # the three-digit tasks keep the seed they were measured with; later tasks shuffle with their own name
    seed = f"rlsd_verl/addition/{len(spec['operands'])}" if task.startswith("three") else f"rlsd_verl/addition/{task}"
    random.Random(seed).shuffle(items)
    return items[spec["n_val"]:], items[: spec["n_val"]]


def split_pairs() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """``(train_pairs, val_pairs)``: a fixed, disjoint split of the 100 single-digit pairs (68 / 32)."""
    pairs = [(a, b) for a in range(10) for b in range(10)]
    random.Random(_PAIRS_SEED).shuffle(pairs)
    return pairs[N_VAL_PAIRS:], pairs[:N_VAL_PAIRS]


def make_rows(split: str, n: int, seed: int = 0, task: str = "single") -> list[dict]:
    """``n`` rows of ``split`` ("train" or "val") of ``task`` (:data:`TASKS`).

    ``val`` with ``n`` up to the task's ``n_val`` is the first ``n`` held-out questions (the same for every
    seed, so runs compare on one test set); larger ``n`` repeats them. ``train`` samples its questions with
    replacement from the task's training questions, deterministically in ``seed``.
    """
    from rlsd_verl.data.schema import FREE_FORM, make_row

    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of {split} rows must be a positive int, got {n!r}")
    train_pairs, val_pairs = split_items(task)
    if split == "val":
        chosen = [val_pairs[i % len(val_pairs)] for i in range(n)]
    else:
        rng = random.Random(f"rlsd_verl/addition/train/{seed}" + ("" if task == "single" else f"/{task}"))
        chosen = [rng.choice(train_pairs) for _ in range(n)]
    rows = []
    for i, ops in enumerate(chosen):
        question = TASKS[task]["question"].format(**dict(zip("abc", ops)))
        if len(ops) == 2:
            reference = f"{ops[0]} + {ops[1]} = {sum(ops)}"
        else:
            reference = f"{ops[0]} + {ops[1]} = {ops[0] + ops[1]}, {ops[0] + ops[1]} + {ops[2]} = {sum(ops)}"
        rows.append(
            make_row(
                data_source=DATA_SOURCE,
                question=question,
                answer=str(sum(ops)),
                prompt_content=question,
                ability="math",
                id=f"addition-{split}-{i:05d}" if task == "single" else f"addition-{task}-{split}-{i:05d}",
                split=split,
                index=i,
                question_type=FREE_FORM,
                reference_solution=reference,
                subject="arithmetic",
                level=len(ops) - 1,
                difficulty="easy",
                source_dataset=DATA_SOURCE,
            )
        )
    return rows


def write_addition_dataset(
    out_dir: str | os.PathLike, n_train: int = 256, n_val: int = 32, seed: int = 0, task: str = "single"
) -> tuple[str, str]:
    """Write ``train.parquet`` and ``val.parquet`` of ``task`` into ``out_dir`` atomically; return their paths."""
    from rlsd_verl.data.schema import write_parquet

    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    train_path = os.path.join(out_dir, "train.parquet")
    val_path = os.path.join(out_dir, "val.parquet")
    write_parquet(make_rows("train", n_train, seed, task), train_path)
    write_parquet(make_rows("val", n_val, seed, task), val_path)
    return train_path, val_path
