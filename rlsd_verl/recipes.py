"""``python -m rlsd_verl.recipes ROW``: launch one Table 2 row from its Hydra experiment.

The settings live in configs (``rlsd_verl/config/experiment/table2/<row>.yaml`` for the method,
``rlsd_verl/config/scale/<scale>.yaml`` for the hardware and run size), composed as
``python -m rlsd_verl.main +scale=<scale> +experiment=table2/<row> ...``. This launcher adds only
what depends on the machine: absolute data / model / output paths, the run's folder (checkpoints,
verl's file-logger metrics, ``train.log``, ``command.txt``), the tiny assets of ``--scale cpu``, and,
for the ``base`` row, the aggregation of the evaluation. ``recipes/table2/<row>.sh`` call it.

Usage::

    python -m rlsd_verl.recipes ROW [--scale paper|single_node|smoke|cpu] [--dry-run] [OVERRIDE ...]

The default scale is ``paper`` (4 × 8 GPUs); ``single_node`` for ``base`` (evaluation uses one node).

``ROW`` is ``grpo``, ``opsd``, ``grpo_opsd``, ``sdpo``, ``rlsd``, ``rlsd_official`` or ``base``. Every
OVERRIDE is a Hydra override appended last (last one wins), e.g. ``trainer.total_training_steps=400``
or ``trainer.nnodes=2``.

Environment (paths relative to the working directory):
  OUTPUT_DIR     the run's folder [outputs/table2/<experiment>]; verl resumes from its checkpoints/
  EXPERIMENT     trainer.experiment_name [<row>, plus _single / _smoke / _cpu for the smaller scales]
  DATA_DIR       folder of the prepared MMFineReason parquets [data]
  TRAIN_FILES    space-separated training parquets [$DATA_DIR/mmfinereason_train.parquet]
  VAL_FILES      space-separated validation parquets [$DATA_DIR/mmfinereason_val.parquet]
  MODEL_PATH     model folder or hub id [the scale's: Qwen3-VL-8B-Instruct; 2B for smoke; the tiny
                 model for cpu]
  ASSETS_DIR     --scale cpu: where the tiny model and data are built [$OUTPUT_DIR/assets]
  EVAL_DATA_DIR  base: folder of the benchmark parquets [data/eval] (or EVAL_FILES, space-separated)
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rlsd_verl.metrics_table import verl_file_logger_path

ROWS = ("grpo", "opsd", "grpo_opsd", "sdpo", "rlsd", "rlsd_official", "base")
SCALES = ("paper", "single_node", "smoke", "cpu")
SUFFIX = {"paper": "", "single_node": "_single", "smoke": "_smoke", "cpu": "_cpu"}
# The benchmark stand-ins of `--scale cpu` for the base row (recipes/table2/tiny_benchmarks.py).
TINY_BENCHMARKS = ("mmmu_validation", "mathvista_testmini", "mathvision_test", "zerobench_zerobench_subquestions",
                   "wemath_testmini")


class RecipeError(SystemExit):
    """A launch problem, reported as ``error: ...`` with exit status 2."""

    def __init__(self, message: str):
        print(f"error: {message}", file=sys.stderr)
        super().__init__(2)


def _abs(path: str | os.PathLike) -> str:
    return os.path.abspath(os.path.expanduser(str(path)))


def _hydra_list(paths: list[str]) -> str:
    return "[" + ",".join(paths) + "]"


@dataclass
class Launch:
    """One composed launch: the ``rlsd_verl.main`` overrides and the run's folders."""

    row: str
    scale: str
    experiment: str
    output_dir: str
    overrides: list[str]
    env: dict[str, str] = field(default_factory=dict)
    prepare: list[list[str]] = field(default_factory=list)  # commands that build missing inputs
    after: list[list[str]] = field(default_factory=list)  # commands run after a successful main
    missing: list[str] = field(default_factory=list)  # inputs that do not exist (an error unless dry-run)

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "rlsd_verl.main", *self.overrides]


def _files(env: dict, var: str, default: str) -> list[str]:
    value = env.get(var) or default
    return [_abs(f) for f in value.split()]


def plan(row: str, scale: str = "paper", extra: list[str] | None = None, env: dict | None = None) -> Launch:
    """Compose the launch of ``row`` at ``scale`` (no side effects)."""
    env = dict(os.environ if env is None else env)
    if row not in ROWS:
        raise RecipeError(f"unknown row {row!r}; the Table 2 rows are: {', '.join(ROWS)}")
    if scale not in SCALES:
        raise RecipeError(f"unknown scale {scale!r}; the scales are: {', '.join(SCALES)}")
    suffix = "" if (row, scale) == ("base", "single_node") else SUFFIX[scale]  # base's default scale
    experiment = env.get("EXPERIMENT") or f"{row}{suffix}"
    output_dir = _abs(env.get("OUTPUT_DIR") or f"outputs/table2/{experiment}")
    # the scale first: an experiment (the base row's evaluation settings) wins over it
    overrides = [f"+scale={scale}", f"+experiment=table2/{row}"]
    launch = Launch(row, scale, experiment, output_dir, overrides)
    model = env.get("MODEL_PATH")
    if scale == "cpu":
        assets = _abs(env.get("ASSETS_DIR") or os.path.join(output_dir, "assets"))
        model = _abs(model) if model else os.path.join(assets, "qwen2_5_vl")
        train = os.path.join(assets, "data", "vl", "train.parquet")
        val = os.path.join(assets, "data", "vl", "val.parquet")
        if not (os.path.isdir(model) and os.path.isfile(train) and os.path.isfile(val)):
            launch.prepare.append([sys.executable, "-m", "rlsd_verl.assets", "--out", assets])
        train_files, val_files = [train], [val]
    else:
        data_dir = env.get("DATA_DIR") or "data"
        train_files = _files(env, "TRAIN_FILES", os.path.join(data_dir, "mmfinereason_train.parquet"))
        val_files = _files(env, "VAL_FILES", os.path.join(data_dir, "mmfinereason_val.parquet"))
        if model and os.path.exists(os.path.expanduser(model)):
            model = _abs(model)
    if row == "base":
        train_files, val_files = _base_files(launch, env, assets if scale == "cpu" else None)
    else:
        launch.missing += [f"{var}: file not found: {f}" for var, fs in (("TRAIN_FILES", train_files),
                                                                        ("VAL_FILES", val_files))
                           for f in fs if not os.path.isfile(f) and scale != "cpu"]
    overrides += [f"data.train_files={_hydra_list(train_files)}", f"data.val_files={_hydra_list(val_files)}"]
    if model:
        overrides.append(f"actor_rollout_ref.model.path={model}")
    metrics_root = os.path.join(output_dir, "metrics")
    overrides += [
        f"trainer.experiment_name={experiment}",
        f"trainer.default_local_dir={os.path.join(output_dir, 'checkpoints')}",
        f"hydra.run.dir={os.path.join(output_dir, 'hydra')}",
    ]
    launch.env["VERL_FILE_LOGGER_ROOT"] = metrics_root
    if row == "base":
        generations = os.path.join(output_dir, "generations")
        overrides.append(f"trainer.validation_data_dir={generations}")
        if scale == "cpu":  # the stand-in benchmarks' prompts are longer than the training prompts
            overrides += ["data.max_prompt_length=512", "data.val_batch_size=32"]
        launch.after.append([sys.executable, "-m", "rlsd_verl.eval.aggregate", generations,
                             "--out", os.path.join(output_dir, "eval.json"), "--name", experiment,
                             "--model", model or scale_model(scale)])
    overrides += list(extra or [])
    return launch


def scale_model(scale: str) -> str:
    """The model a scale config names (``actor_rollout_ref.model.path``), read from its YAML."""
    from omegaconf import OmegaConf

    config_dir = Path(__file__).resolve().parent / "config" / "scale"
    for name in (scale, "paper"):
        path = OmegaConf.select(OmegaConf.load(config_dir / f"{name}.yaml"), "actor_rollout_ref.model.path")
        if path is not None:
            return str(path)
    raise RecipeError(f"scale {scale!r} names no model; set MODEL_PATH")


def _base_files(launch: Launch, env: dict, assets: str | None) -> tuple[list[str], list[str]]:
    """The benchmark parquets the base row evaluates; the first doubles as the (unused) train file."""
    if assets is not None:
        bench = os.path.join(assets, "data", "bench")
        files = [os.path.join(bench, f"{name}.parquet") for name in TINY_BENCHMARKS]
        if not all(os.path.isfile(f) for f in files):
            tiny = Path(__file__).resolve().parents[1] / "recipes" / "table2" / "tiny_benchmarks.py"
            launch.prepare.append([sys.executable, str(tiny), "--out", bench])
    elif env.get("EVAL_FILES"):
        files = [_abs(f) for f in env["EVAL_FILES"].split()]
        launch.missing += [f"EVAL_FILES: file not found: {f}" for f in files if not os.path.isfile(f)]
    else:
        eval_dir = env.get("EVAL_DATA_DIR") or "data/eval"
        files = sorted(str(p) for p in Path(_abs(eval_dir)).glob("*.parquet"))
        if not files:
            launch.missing.append(
                f"EVAL_DATA_DIR: no benchmark parquet in {_abs(eval_dir)}; set EVAL_FILES or EVAL_DATA_DIR, or build "
                f"them: python data_prep/paper_benchmarks.py --from-hub --output-dir {eval_dir} --max-pixels 1048576"
            )
            files = [os.path.join(_abs(eval_dir), "<benchmark>.parquet")]
    return files[:1], files


def _shell(argv: list[str], env: dict[str, str] | None = None) -> str:
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
    return (prefix + " " if prefix else "") + " ".join(shlex.quote(a) for a in argv)


def run(launch: Launch, dry_run: bool = False) -> int:
    """Print (``dry_run``) or run the launch: prepare, ``rlsd_verl.main`` (teed to train.log), after."""
    if dry_run:
        print(f"# {launch.row} at scale {launch.scale}: run folder {launch.output_dir}")
        for cmd in launch.prepare:
            print(_shell(cmd))
        print(_shell(launch.command, launch.env))
        for cmd in launch.after:
            print(_shell(cmd))
        return 0
    if launch.missing:
        raise RecipeError("; ".join(launch.missing) + " (see docs/reproduction.md for the data)")
    os.makedirs(launch.output_dir, exist_ok=True)
    os.makedirs(launch.env["VERL_FILE_LOGGER_ROOT"], exist_ok=True)
    for cmd in launch.prepare:
        print(f"building inputs: {_shell(cmd)}", file=sys.stderr)
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    env = dict(os.environ, **launch.env)
    Path(launch.output_dir, "command.txt").write_text(_shell(launch.command, launch.env) + "\n")
    project = "rlsd_table2_eval" if launch.row == "base" else "rlsd_table2"
    metrics = verl_file_logger_path(project, launch.experiment, env)
    log_path = Path(launch.output_dir, "train.log")
    print(f"{launch.row} ({launch.scale}): log in {log_path}, metrics in {metrics}", file=sys.stderr)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(launch.command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for chunk in iter(lambda: proc.stdout.readline(), b""):
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            log.write(chunk)
        code = proc.wait()
    if code != 0:
        return code
    for cmd in launch.after:
        subprocess.run(cmd, check=True, env=env)
    return 0


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options a row's launch and ``recipes/reproduce_table2.sh`` share: the scale, --dry-run, overrides."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--scale", choices=SCALES, default=None,
                       help="hardware and run size (scale/<scale>.yaml) [paper; single_node for base]")
    for name in ("single_node", "smoke", "cpu"):
        group.add_argument(f"--{name.replace('_', '-')}", dest="scale", action="store_const", const=name,
                           help=f"same as --scale {name}")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, appended last")


def table2_shell_options(argv: list[str]) -> str:
    """``recipes/reproduce_table2.sh``'s options parsed here, as shell assignments for it to ``eval``:
    ``mode`` (full, cpu, smoke, single-node), ``dry_run`` (0/1), ``show_help`` (0/1), the arrays
    ``mode_flag`` (the scale flag to pass on to each row) and ``extra`` (the Hydra overrides)."""
    parser = argparse.ArgumentParser(prog="recipes/reproduce_table2.sh", add_help=False)
    parser.add_argument("-h", "--help", action="store_true")
    _add_run_options(parser)
    args = parser.parse_intermixed_args(argv)
    scale = None if args.scale == "paper" else args.scale
    flag = [f"--{scale.replace('_', '-')}"] if scale else []
    return "\n".join([
        f"mode={flag[0][2:] if flag else 'full'} dry_run={int(args.dry_run)} show_help={int(args.help)}",
        f"mode_flag=({shlex.join(flag)})",
        f"extra=({shlex.join(args.overrides)})",
    ])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["table2-shell-options"]:  # used by recipes/reproduce_table2.sh
        print(table2_shell_options(argv[1:]))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m rlsd_verl.recipes", description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("Environment", 1)[1].join(["Environment", ""]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("row", choices=ROWS, help="the Table 2 row (experiment/table2/<row>.yaml)")
    parser.add_argument("--official", action="store_true",
                        help="rlsd only: the released script's settings (experiment table2/rlsd_official)")
    _add_run_options(parser)
    args = parser.parse_intermixed_args(argv)
    row = args.row
    if args.official:
        if row != "rlsd":
            parser.error("--official selects the released script's RLSD settings: only for the rlsd row")
        row = "rlsd_official"
    scale = args.scale or ("single_node" if row == "base" else "paper")  # the evaluation runs on one node
    return run(plan(row, scale, args.overrides), dry_run=args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
