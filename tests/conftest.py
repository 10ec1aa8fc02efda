"""Project-wide test fixtures: offline environment, tiny models and data, a trainer launcher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
    "TOKENIZERS_PARALLELISM": "false",
    "RAY_AUTH_MODE": "disabled",
    "RAY_DEDUP_LOGS": "0",
}
for _k, _v in OFFLINE_ENV.items():
    os.environ.setdefault(_k, _v)


@pytest.fixture(scope="session")
def asset_root(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny_assets")


@pytest.fixture(scope="session")
def tiny_models(asset_root) -> dict[str, str]:
    """``{"text": dir, "qwen2_5_vl": dir, "qwen3_vl": dir}`` built with seed 0."""
    from rlsd_verl.assets.tiny_models import build_all

    return build_all(asset_root / "models", seed=0)


@pytest.fixture(scope="session")
def synthetic(asset_root) -> dict[str, tuple[str, str]]:
    """``{"text": (train, val), "vl": (train, val)}`` parquet paths, seed 0, 32/8 rows."""
    from rlsd_verl.assets.synthetic_data import write_synthetic_dataset

    return {kind: write_synthetic_dataset(asset_root / "data" / kind, kind) for kind in ("text", "vl")}


def tiny_run_overrides(model_dir: str, train: str, val: str, out_dir: Path, experiment: str) -> list[str]:
    """Hydra overrides for a seconds-per-step run of the tiny models on the CPU backend."""
    return [
        "preset=cpu",
        f"data.train_files={train}",
        f"data.val_files={val}",
        "data.train_batch_size=4",
        "data.max_prompt_length=256",
        "data.max_response_length=16",
        f"actor_rollout_ref.model.path={model_dir}",
        "actor_rollout_ref.actor.ppo_mini_batch_size=4",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",
        "actor_rollout_ref.actor.use_kl_loss=False",
        "actor_rollout_ref.actor.optim.lr=1e-3",
        "actor_rollout_ref.rollout.n=2",
        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4",
        "reward.custom_reward_function.path=pkg://rlsd_verl.assets.toy_reward",
        "reward.custom_reward_function.name=compute_score",
        "trainer.logger=[console,file]",
        "trainer.project_name=tests",
        f"trainer.experiment_name={experiment}",
        f"trainer.default_local_dir={out_dir / 'ckpt'}",
        "trainer.val_before_train=False",
        "trainer.save_freq=-1",
        "trainer.test_freq=-1",
    ]


class TrainerRun:
    def __init__(self, out_dir: Path, experiment: str, returncode: int, log: str):
        self.out_dir, self.experiment, self.returncode, self.log = out_dir, experiment, returncode, log

    @property
    def metrics(self) -> dict[int, dict]:
        """step → merged metrics of verl's ``file`` logger (steps logged twice are merged)."""
        path = self.out_dir / "logs" / "tests" / f"{self.experiment}.jsonl"
        merged: dict[int, dict] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    rec = json.loads(line)
                    merged.setdefault(int(rec["step"]), {}).update(rec["data"])
        return merged


def run_trainer(out_dir: Path, experiment: str, overrides: list[str], timeout: int = 900) -> TrainerRun:
    """Run ``python -m rlsd_verl.main`` in a subprocess; the log lands in ``out_dir/<experiment>.log``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, VERL_FILE_LOGGER_ROOT=str(out_dir / "logs"), PYTHONUNBUFFERED="1")
    log_path = out_dir / f"{experiment}.log"
    with open(log_path, "w") as log:
        proc = subprocess.run(
            [sys.executable, "-m", "rlsd_verl.main", *overrides],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=timeout,
            cwd=out_dir,
        )
    return TrainerRun(out_dir, experiment, proc.returncode, log_path.read_text(errors="replace"))


def assert_ok(run: TrainerRun) -> None:
    if run.returncode != 0:
        tail = "\n".join(run.log.splitlines()[-60:])
        raise AssertionError(f"trainer run {run.experiment} exited {run.returncode}; log tail:\n{tail}")
