"""What RLSD costs over GRPO per step, measured on the tiny Qwen2.5-VL through the CPU backend.

Runs GRPO and RLSD for the same number of steps in one invocation (same data, same sizes, same
machine, one after the other), then prints, from verl's own ``timing_s/*`` metrics:

* RLSD/GRPO mean step time while λ > 0 (the teacher pass runs) and after λ has decayed to 0
  (the pass is skipped, so the ratio should return to ~1);
* teacher-pass time / old-log-prob time (the paper: "one extra forward pass per response").

Step 1 of each run is excluded (warm-up: lazy initialisation, first compilation of kernels).
It prints ratios and does not assert: speed targets live here, not in the tests.

    python benchmarks/rlsd_overhead.py [--steps 8] [--decay-steps 4] [--out DIR] [--model qwen2_5_vl]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from rlsd_verl.assets.synthetic_data import write_synthetic_dataset
from rlsd_verl.assets.tiny_models import BUILDERS
from rlsd_verl.cpu.tiny_run import run_main, tiny_run_overrides


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--decay-steps", type=int, default=4, help="RLSD λ reaches 0 after this many updates")
    parser.add_argument("--model", default="qwen2_5_vl", choices=sorted(BUILDERS))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.decay_steps < 2 or args.steps < args.decay_steps + 1:
        parser.error("need --decay-steps >= 2 and --steps > decay_steps (steps on both sides of the decay)")

    out = args.out or Path(tempfile.mkdtemp(prefix="rlsd_bench_"))
    model = BUILDERS[args.model](out / "assets" / args.model)
    kind = "text" if args.model == "text" else "vl"
    train, val = write_synthetic_dataset(out / "assets" / "data" / kind, kind)

    runs = {}
    for method in ("grpo", "rlsd"):
        overrides = tiny_run_overrides(model, train, val, out / method, method) + [
            f"algorithm.adv_estimator={method}",
            f"trainer.total_training_steps={args.steps}",
            f"algorithm.rlsd.decay_steps={args.decay_steps}",
        ]
        print(f"running {method} for {args.steps} steps ...", flush=True)
        runs[method] = run_main(out / method, method, overrides, timeout=3600).check().metrics

    grpo, rlsd = runs["grpo"], runs["rlsd"]
    steps = range(2, args.steps + 1)
    # λ > 0 for updates 1..decay_steps (step s uses λ(s-1)); skip step 1 (warm-up)
    with_teacher = [s for s in steps if s <= args.decay_steps]
    after_decay = [s for s in steps if s > args.decay_steps]

    def step_time(metrics, chosen):
        return _mean([metrics[s]["timing_s/step"] for s in chosen])

    g_all = step_time(grpo, steps)
    r_teacher, r_after = step_time(rlsd, with_teacher), step_time(rlsd, after_decay)
    teacher = _mean([rlsd[s]["timing_s/teacher"] for s in with_teacher])
    old_lp = _mean([rlsd[s]["timing_s/old_log_prob"] for s in with_teacher])
    skipped = [s for s in after_decay if rlsd[s].get("rlsd/teacher_skipped") == 1.0]

    print()
    print(f"model: tiny {args.model}, 4 prompts x 2 rollouts, 16-token responses, {args.steps} steps (step 1 excluded)")
    print(f"GRPO mean step time                    {g_all:8.3f} s")
    print(f"RLSD mean step time, lambda > 0        {r_teacher:8.3f} s   (steps {with_teacher[0]}-{with_teacher[-1]})")
    print(f"RLSD mean step time, after decay       {r_after:8.3f} s   (steps {after_decay[0]}-{after_decay[-1]}, "
          f"teacher skipped in {len(skipped)}/{len(after_decay)})")
    print(f"ratio RLSD/GRPO while lambda > 0       {r_teacher / g_all:8.3f}")
    print(f"ratio RLSD/GRPO after decay            {r_after / g_all:8.3f}")
    print(f"teacher pass / old-log-prob pass       {teacher / old_lp:8.3f}   ({teacher:.3f} s / {old_lp:.3f} s)")
    print(f"logs: {out}")


if __name__ == "__main__":
    main()
