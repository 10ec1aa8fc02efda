"""Shared fixtures: build the tiny models and synthetic datasets once per test session (offline)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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
