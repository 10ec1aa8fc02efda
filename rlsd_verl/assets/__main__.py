"""CLI: ``python -m rlsd_verl.assets --out DIR`` builds every tiny offline asset under DIR.

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


def main(argv: list[str] | None = None) -> int:
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
