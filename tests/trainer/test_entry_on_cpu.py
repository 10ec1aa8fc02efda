"""The entry points: clear errors before Ray starts, the verl guard, a loud plugin."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_module

from rlsd_verl import plugin
from rlsd_verl.main import check_ray_resources, prepare, required_ray_cpus


@pytest.fixture(autouse=True)
def _restore_environ():
    """prepare() exports the CPU backend's environment; keep it out of other tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _config(*overrides):
    with initialize_config_module("rlsd_verl.config", version_base=None):
        return compose("rlsd_trainer", overrides=["preset=cpu", "actor_rollout_ref.model.path=unused", *overrides])


def test_plain_verl_entry_refuses_our_estimators_by_name():
    env = {k: v for k, v in os.environ.items() if k != "RLSD_VERL_ENTRY"}
    proc = subprocess.run(
        [sys.executable, "-m", "verl.trainer.main_ppo", "algorithm.adv_estimator=rlsd"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode != 0
    assert "rlsd_verl.main" in proc.stderr + proc.stdout
    assert "Started a local Ray instance" not in proc.stderr + proc.stdout  # stopped before Ray


def test_transfer_queue_that_cannot_be_placed_fails_instead_of_hanging(monkeypatch):
    import rlsd_verl.main as entry

    monkeypatch.setattr(entry, "_running_local_cluster", lambda: False)
    cfg = _config("transfer_queue.backend.SimpleStorage.num_data_storage_units=8", "ray_kwargs.ray_init.num_cpus=4")
    assert required_ray_cpus(cfg) > 4
    with pytest.raises(ValueError, match="num_data_storage_units"):
        check_ray_resources(cfg)
    check_ray_resources(_config())  # the preset itself fits


def test_rlsd_settings_are_checked_before_ray(tmp_path):
    with pytest.raises(ValueError, match="rollout.n"):
        prepare(_config("algorithm.adv_estimator=rlsd", "actor_rollout_ref.rollout.n=1"))
    with pytest.raises(ValueError, match="clip_eps"):
        prepare(_config("algorithm.adv_estimator=rlsd", "actor_rollout_ref.rollout.n=2", "algorithm.rlsd.clip_eps=1.5"))
    with pytest.raises(ValueError, match="log_prob_max_token_len_per_gpu"):
        prepare(_config(
            "algorithm.adv_estimator=rlsd", "actor_rollout_ref.rollout.n=2",
            "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz=True", "actor_rollout_ref.actor.use_dynamic_bsz=True",
            "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=1024", "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=4096",
            "data.max_prompt_length=512", "data.max_response_length=256",
        ))
    with pytest.raises(ValueError, match="use_v1"):
        prepare(_config("algorithm.adv_estimator=rlsd", "actor_rollout_ref.rollout.n=2", "trainer.use_v1=False"))


def test_entry_config_defaults_equal_rlsd_config_defaults():
    from rlsd_verl.algos.config import RLSDConfig

    assert RLSDConfig.from_config(_config().algorithm) == RLSDConfig()


def test_plugin_failure_is_loud(monkeypatch, caplog):
    import rlsd_verl.cpu.rollout as rollout

    def broken():
        raise ImportError("simulated broken dependency")

    monkeypatch.setattr(rollout, "register", broken)
    monkeypatch.setattr(plugin, "_LOADED", False)
    monkeypatch.setattr(plugin, "LOAD_ERRORS", [])
    with caplog.at_level(logging.ERROR, logger="rlsd_verl.plugin"), pytest.raises(ImportError):
        plugin.load()
    assert "simulated broken dependency" in caplog.text
    with pytest.raises(RuntimeError, match="failed to load"):
        plugin.verify()
