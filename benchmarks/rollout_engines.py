"""One RLSD step with the ``hf`` rollout vs verl's vLLM server (``rollout.name=vllm``) on SmolLM2-135M, CPU.

Runs the same RLSD job twice in one invocation (same prompts, n, lengths, seed; one after the other):
``rollout.name=hf`` in ./.venv and ``rollout.name=vllm`` in ./.venv-vllm, then prints, from verl's own
``timing_s/*`` metrics, the mean step time, generation time and weight-push time (``update_weights``) over
steps 2..N (step 1 is warm-up: vLLM's first generate compiles and allocates), and the start-up time to
the first step. It prints ratios and does not assert.

    python benchmarks/rollout_engines.py [--steps 4] [--prompts 4] [--n 4] [--max-response-length 24]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rlsd_verl.cpu.smollm2_run import smollm2_assets, smollm2_run_overrides
from rlsd_verl.cpu.tiny_run import run_main
from rlsd_verl.cpu.vllm_checks import vllm_env_python

KEYS = ("timing_s/step", "timing_s/gen", "timing_s/update_weights", "timing_s/teacher")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-response-length", type=int, default=24)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="rollout_engines_"))
    model, train, val = smollm2_assets(out / "data")
    results = {}
    for engine, python in (("hf", sys.executable), ("vllm", vllm_env_python())):
        overrides = smollm2_run_overrides(
            model, train, val, out / engine, f"rlsd_{engine}", prompts_per_step=args.prompts, rollout_n=args.n,
            max_response_length=args.max_response_length,
        ) + ["algorithm.adv_estimator=rlsd", f"trainer.total_training_steps={args.steps}",
             f"actor_rollout_ref.rollout.name={engine}"]
        t0 = time.time()
        run = run_main(out / engine, f"rlsd_{engine}", overrides, python=python).check()
        wall = time.time() - t0
        later = [run.metrics[s] for s in range(2, args.steps + 1)]
        means = {k: statistics.fmean(m[k] for m in later) if all(k in m for m in later) else float("nan") for k in KEYS}
        total_steps = sum(m["timing_s/step"] for m in run.metrics.values())
        results[engine] = dict(means, startup=wall - total_steps, step1=run.metrics[1]["timing_s/step"])
    print(f"SmolLM2-135M, RLSD, {args.prompts} prompts x {args.n} responses, {args.max_response_length} tokens, "
          f"steps 2..{args.steps} (mean seconds)")
    print(f"{'':22s}{'hf':>10s}{'vllm':>10s}{'vllm/hf':>10s}")
    for key in (*KEYS, "step1", "startup"):
        h, v = results["hf"][key], results["vllm"][key]
        print(f"{key:22s}{h:10.3f}{v:10.3f}{v / h if h else float('nan'):10.2f}")


if __name__ == "__main__":
    main()
