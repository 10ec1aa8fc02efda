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

import os
import random

DATA_SOURCE = "rlsd_verl/addition"
QUESTION = "What is {a} + {b}?"
N_VAL_PAIRS = 32
_PAIRS_SEED = "rlsd_verl/addition/pairs"


def split_pairs() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """``(train_pairs, val_pairs)``: a fixed, disjoint split of the 100 single-digit pairs (68 / 32)."""
    pairs = [(a, b) for a in range(10) for b in range(10)]
    random.Random(_PAIRS_SEED).shuffle(pairs)
    return pairs[N_VAL_PAIRS:], pairs[:N_VAL_PAIRS]


def make_rows(split: str, n: int, seed: int = 0) -> list[dict]:
    """``n`` rows of ``split`` ("train" or "val").

    ``val`` with ``n <= 32`` is the first ``n`` held-out pairs (the same questions for every seed, so runs
    compare on one test set); larger ``n`` repeats them. ``train`` samples its pairs with replacement from
    the 68 training pairs, deterministically in ``seed``.
    """
    from rlsd_verl.data.schema import FREE_FORM, make_row

    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of {split} rows must be a positive int, got {n!r}")
    train_pairs, val_pairs = split_pairs()
    if split == "val":
        chosen = [val_pairs[i % len(val_pairs)] for i in range(n)]
    else:
        rng = random.Random(f"rlsd_verl/addition/train/{seed}")
        chosen = [rng.choice(train_pairs) for _ in range(n)]
    rows = []
    for i, (a, b) in enumerate(chosen):
        question = QUESTION.format(a=a, b=b)
        rows.append(
            make_row(
                data_source=DATA_SOURCE,
                question=question,
                answer=str(a + b),
                prompt_content=question,
                ability="math",
                id=f"addition-{split}-{i:05d}",
                split=split,
                index=i,
                question_type=FREE_FORM,
                reference_solution=f"{a} + {b} = {a + b}",
                subject="arithmetic",
                level=1,
                difficulty="easy",
                source_dataset=DATA_SOURCE,
            )
        )
    return rows


def write_addition_dataset(out_dir: str | os.PathLike, n_train: int = 256, n_val: int = 32, seed: int = 0) -> tuple[str, str]:
    """Write ``train.parquet`` and ``val.parquet`` into ``out_dir`` atomically; return their paths."""
    from rlsd_verl.data.schema import write_parquet

    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    train_path = os.path.join(out_dir, "train.parquet")
    val_path = os.path.join(out_dir, "val.parquet")
    write_parquet(make_rows("train", n_train, seed), train_path)
    write_parquet(make_rows("val", n_val, seed), val_path)
    return train_path, val_path
