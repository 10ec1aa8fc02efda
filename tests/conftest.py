"""Project-wide test fixtures: offline environment, tiny models and data, a trainer launcher."""

from __future__ import annotations

import os

import pytest

from rlsd_verl.cpu.tiny_run import run_main, tiny_run_overrides  # noqa: F401  (used by the e2e tests)

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


def run_trainer(out_dir, experiment: str, overrides: list[str], timeout: int = 900):
    """``python -m rlsd_verl.main`` in a subprocess (see :mod:`rlsd_verl.cpu.tiny_run`)."""
    return run_main(out_dir, experiment, overrides, timeout=timeout)


def assert_ok(run) -> None:
    run.check()


@pytest.fixture(autouse=True)
def _datasets_filter_in_process(monkeypatch):
    """Run ``datasets.Dataset.filter`` in this process (``num_proc=None``).

    verl's ``RLHFDataset`` filters long prompts with ``num_proc=filter_overlong_prompts_workers``,
    and datasets 5 forks a worker pool for any ``num_proc >= 1``. Forking the test process after
    earlier tests started torch/tokenizer threads can deadlock the child; the filter itself is
    unchanged, only run without the pool.
    """
    import datasets

    original = datasets.Dataset.filter

    def filter_in_process(self, *args, num_proc=None, **kwargs):
        return original(self, *args, num_proc=None, **kwargs)

    monkeypatch.setattr(datasets.Dataset, "filter", filter_in_process)
