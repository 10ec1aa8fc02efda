"""Launch seconds-per-step runs of ``rlsd_verl.main`` on the tiny offline models (CPU backend).

Shared by the end-to-end tests and the benchmarks: the overrides that make a run small, a
subprocess launcher, and a reader of verl's ``file``-logger metrics.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rlsd_verl.utils.io import read_jsonl

PROJECT = "tiny"


def tiny_run_overrides(model_dir: str, train: str, val: str, out_dir: Path, experiment: str) -> list[str]:
    """Hydra overrides for a run of the tiny models on the CPU backend.

    The sizes (4 prompts × 2 rollouts, 256/16 tokens, toy reward, 2 steps) are the ``cpu`` scale,
    ``rlsd_verl/config/scale/cpu.yaml``; this adds the paths, a learning rate large enough to move
    the tiny model's weights visibly, and the run's names.
    """
    return [
        "+scale=cpu",
        f"data.train_files={train}",
        f"data.val_files={val}",
        f"actor_rollout_ref.model.path={model_dir}",
        "actor_rollout_ref.actor.use_kl_loss=False",
        "actor_rollout_ref.actor.optim.lr=1e-3",
        f"trainer.project_name={PROJECT}",
        f"trainer.experiment_name={experiment}",
        f"trainer.default_local_dir={Path(out_dir) / 'ckpt'}",
    ]


def read_step_metrics(path: Path) -> dict[int, dict]:
    """step → metrics of a ``file``-logger JSONL (a step logged twice is merged)."""
    merged: dict[int, dict] = {}
    if Path(path).exists():
        for _, rec in read_jsonl(path):
            merged.setdefault(int(rec["step"]), {}).update(rec["data"])
    return merged


@dataclass
class TinyRun:
    out_dir: Path
    experiment: str
    returncode: int
    log: str

    @property
    def metrics(self) -> dict[int, dict]:
        return read_step_metrics(self.out_dir / "logs" / PROJECT / f"{self.experiment}.jsonl")

    def check(self) -> "TinyRun":
        if self.returncode != 0:
            tail = "\n".join(self.log.splitlines()[-60:])
            raise AssertionError(f"trainer run {self.experiment} exited {self.returncode}; log tail:\n{tail}")
        return self


#: Failures of start-up plumbing, before the first training step: Ray's own start-up gives its raylet a
#: fixed 30 s to register (``ray/_private/node.py``), which a machine saturated by other jobs can exceed;
#: and the process group's rendezvous port, picked free by verl, can be taken by another process before
#: it is bound. Such a run is started again.
RAY_STARTUP_FAILURES = (
    "The current node timed out during startup",
    "The server socket has failed to listen on any local network address",
)


def run_main(
    out_dir: Path, experiment: str, overrides: list[str], timeout: int = 900, startup_retries: int = 2,
    python: str | None = None,
) -> TinyRun:
    """Run ``python -m rlsd_verl.main`` in a subprocess; its output goes to ``out_dir/<experiment>.log``.

    ``python``: the interpreter (default this one); runs with ``rollout.name=vllm`` pass the vLLM
    environment's (:func:`rlsd_verl.cpu.vllm_checks.vllm_env_python`).

    A run that failed in start-up plumbing (:data:`RAY_STARTUP_FAILURES`, before the first step) is
    started again, up to ``startup_retries`` times; any other failure is returned as it is.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, VERL_FILE_LOGGER_ROOT=str(out_dir / "logs"), PYTHONUNBUFFERED="1")
    env.pop("VERL_FILE_LOGGER_PATH", None)  # it would send every run's metrics to one file
    log_path = out_dir / f"{experiment}.log"
    for attempt in range(startup_retries + 1):
        with open(log_path, "w") as log:
            proc = subprocess.run(
                [python or sys.executable, "-m", "rlsd_verl.main", *overrides],
                stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout, cwd=out_dir,
            )
        text = log_path.read_text(errors="replace")
        if proc.returncode == 0 or not any(m in text for m in RAY_STARTUP_FAILURES) or attempt == startup_retries:
            return TinyRun(out_dir, experiment, proc.returncode, text)
        print(f"[tiny_run] {experiment}: Ray did not start in time (machine busy); starting the run again", file=sys.stderr)
    raise AssertionError("unreachable")
