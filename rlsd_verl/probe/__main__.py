r"""``python -m rlsd_verl.probe``: the teacher-signal check before training.

For each teacher template it runs **one real step of** ``python -m rlsd_verl.main`` (the training code path:
rollout of k responses per prompt, the verifier, the teacher pass on the training engine) with token-credit
records for every response (``algorithm.rlsd.dump_tokens``), then prints per template the table of
:mod:`rlsd_verl.probe.stats` and a verdict line. There is no second implementation of the teacher: the
numbers are the trainer's own Δ_t and w_t.

    # SmolLM2-135M-Instruct on the addition task, on CPU (a few minutes per template)
    python -m rlsd_verl.probe --smollm2 --template paper --template inline
    # your model and data: any verl override after --
    python -m rlsd_verl.probe --model Qwen/Qwen3-VL-8B-Instruct --data train.parquet --prompts 32 --k 8 \
        --template paper --template mine=@my_template.txt -- trainer.n_gpus_per_node=8 ...
    # records you already have (a run's <experiment>.tokens.jsonl)
    python -m rlsd_verl.probe --records paper=run_a.tokens.jsonl --records inline=run_b.tokens.jsonl --json

``--template`` is ``paper`` (the paper's block), ``inline`` (`` The correct answer is {hint}.``), or
``NAME=TEXT`` / ``NAME=@file`` (a template with ``{hint}``). The one probe step also updates the actor
(it is a trainer step); nothing is saved.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rlsd_verl.probe.stats import format_table, teacher_signal

#: the named templates of ``--template``
TEMPLATES = {
    "paper": None,  # rlsd_verl.teacher.templates.DEFAULT_TEACHER_TEMPLATE (the config default)
    "inline": " The correct answer is {hint}.",
}


def parse_named(values: list[str], flag: str, named: dict | None = None) -> dict[str, str | None]:
    """``NAME=VALUE`` pairs (or a bare known name) as an ordered dict; a clear error for anything else."""
    out: dict[str, str | None] = {}
    for v in values:
        if named is not None and v in named:
            name, value = v, named[v]
        elif "=" in v and v.split("=", 1)[0]:
            name, value = v.split("=", 1)
        else:
            known = f" or one of {sorted(named)}" if named else ""
            raise SystemExit(f"{flag} {v!r}: expected NAME=VALUE{known}")
        if name in out:
            raise SystemExit(f"{flag}: the name {name!r} is given twice")
        out[name] = value
    return out


def template_overrides(text: str | None, run_dir: Path) -> list[str]:
    """Hydra overrides that set ``algorithm.rlsd.teacher_template`` to ``text`` (None: the default).

    The text goes through a file (``@path``), so newlines and quotes need no Hydra escaping.
    """
    if text is None:
        return []
    if text.startswith("@"):
        return [f"algorithm.rlsd.teacher_template=@{Path(text[1:]).resolve()}"]
    if "{hint}" not in text:
        raise SystemExit(f"--template {text!r} has no {{hint}} placeholder (or give NAME=@file)")
    path = run_dir / "teacher_template.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return [f"algorithm.rlsd.teacher_template=@{path}"]


def probe_overrides(args, model: str, train: str, val: str, run_dir: Path, name: str, dump: Path) -> list[str]:
    """The one-step run: the caller's model/data settings + token records of every response."""
    if args.smollm2:
        from rlsd_verl.cpu.smollm2_run import smollm2_run_overrides

        base = smollm2_run_overrides(
            model, train, val, run_dir, name, prompts_per_step=args.prompts, rollout_n=args.k,
            max_response_length=args.max_response_length, seed=args.seed,
        )
    else:
        base = [
            f"data.train_files={train}", f"data.val_files={val}", f"data.train_batch_size={args.prompts}",
            f"data.max_response_length={args.max_response_length}", f"data.seed={args.seed}",
            f"actor_rollout_ref.model.path={model}", f"actor_rollout_ref.rollout.n={args.k}",
            f"actor_rollout_ref.actor.ppo_mini_batch_size={args.prompts}", "trainer.logger=[console,file]",
            "trainer.project_name=rlsd_probe", f"trainer.experiment_name={name}",
            f"trainer.default_local_dir={run_dir / 'ckpt'}", "trainer.val_before_train=False", "trainer.save_freq=-1",
            "trainer.test_freq=-1",
        ]
    return base + [
        "algorithm.adv_estimator=rlsd",
        "trainer.total_training_steps=1",
        f"algorithm.rlsd.dump_tokens={args.prompts * args.k}",
        "algorithm.rlsd.dump_every=1",
        f"algorithm.rlsd.dump_path={dump}",
        f"algorithm.rlsd.clip_eps={args.clip_eps}",
        "algorithm.rlsd.teacher=live",  # step 1: the live actor is θ₀, as a fresh copy would be; no copy made
    ]


def run_template(args, name: str, text: str | None, model: str, train: str, val: str, out: Path) -> Path:
    """One trainer step with ``text`` as the teacher template; returns its token-records file."""
    from rlsd_verl.cpu.tiny_run import run_main

    run_dir = out / name
    dump = run_dir / "probe.tokens.jsonl"
    dump.unlink(missing_ok=True)
    overrides = probe_overrides(args, model, train, val, run_dir, f"probe_{name}", dump)
    overrides += template_overrides(text, run_dir) + list(args.overrides)
    t0 = time.perf_counter()
    run = run_main(run_dir, f"probe_{name}", overrides, timeout=args.timeout)
    if run.returncode != 0:
        tail = "\n".join(run.log.splitlines()[-30:])
        raise SystemExit(f"the probe step for template {name!r} failed (log: {run_dir / f'probe_{name}.log'}):\n{tail}")
    print(f"[probe] {name}: one trainer step in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return dump


def _clean(stats: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in stats.items()}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, overrides = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(prog="python -m rlsd_verl.probe", description=__doc__.splitlines()[0])
    p.add_argument("--smollm2", action="store_true", help="SmolLM2-135M-Instruct on the addition task, CPU backend")
    p.add_argument("--task", default="single", help="--smollm2: the addition task (rlsd_verl.assets.addition.TASKS)")
    p.add_argument("--model", help="model path (verl's actor_rollout_ref.model.path)")
    p.add_argument("--data", help="parquet of prompts (verl's data.train_files)")
    p.add_argument("--template", action="append", default=[], help="paper | inline | NAME=TEXT | NAME=@file (repeat)")
    p.add_argument("--records", action="append", default=[], help="NAME=FILE: token records already made (repeat)")
    p.add_argument("--prompts", type=int, default=8, help="prompts in the probe step (default 8)")
    p.add_argument("--k", type=int, default=4, help="responses per prompt (default 4)")
    p.add_argument("--max-response-length", type=int, default=32)
    p.add_argument("--clip-eps", type=float, default=0.2, help="ε_w for the clip fractions (algorithm.rlsd.clip_eps)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="folder for the runs (default: a temporary one, removed)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per template run")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    args = p.parse_args(argv)
    args.overrides = overrides
    if args.prompts < 1 or args.k < 2:
        p.error("--prompts must be >= 1 and --k >= 2 (GRPO needs two responses per prompt for a non-zero A)")

    templates = parse_named(args.template, "--template", TEMPLATES)
    given = parse_named(args.records, "--records")
    if not templates and not given:
        p.error("give at least one --template (runs a probe step) or --records NAME=FILE")
    for name in set(templates) & set(given):
        p.error(f"the name {name!r} is both a --template and a --records")
    if templates and not args.smollm2 and not (args.model and args.data):
        p.error("--template needs --smollm2, or --model and --data")

    from rlsd_verl.trainer.token_dump import read_records

    files: dict[str, Path] = {name: Path(f) for name, f in given.items()}
    for name, f in files.items():
        if not f.is_file():
            p.error(f"--records {name}={f}: no such file")
    tmp = None
    if templates:
        out = args.out or Path(tmp := tempfile.mkdtemp(prefix="rlsd_probe_"))
        if args.smollm2:
            from rlsd_verl.cpu.smollm2_run import smollm2_assets

            model, train, val = smollm2_assets(out / "data", model_dir=args.model, seed=args.seed, task=args.task)
        else:
            model, train, val = args.model, args.data, args.data
        try:
            for name, text in templates.items():
                files[name] = run_template(args, name, text, model, train, val, out)
            table = {name: teacher_signal(read_records(f), args.clip_eps) for name, f in files.items()}
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
    else:
        table = {name: teacher_signal(read_records(f), args.clip_eps) for name, f in files.items()}
    if args.json:
        print(json.dumps({name: _clean(s) for name, s in table.items()}, indent=1))
    else:
        print(format_table(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
