"""Start-up refusals of teacher setups that would be wrong, each naming the flag."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from rlsd_verl.trainer.guards import check_teacher_setup


def _cfg(**over):
    cfg = OmegaConf.create(
        {
            "algorithm": {"rollout_correction": {"bypass_mode": False}},
            "actor_rollout_ref": {"actor": {"strategy": "fsdp2"}, "model": {"lora_rank": 0}},
        }
    )
    for key, value in over.items():
        OmegaConf.update(cfg, key, value)
    return cfg


def test_defaults_pass_for_every_teacher():
    for teacher in ("sync", "frozen", "live"):
        check_teacher_setup(_cfg(), teacher)


def test_bypass_mode_is_refused_for_every_teacher():
    for teacher in ("sync", "live"):
        with pytest.raises(ValueError, match=r"algorithm\.rollout_correction\.bypass_mode=False"):
            check_teacher_setup(_cfg(**{"algorithm.rollout_correction.bypass_mode": True}), teacher)


def test_a_copy_needs_an_fsdp_actor_without_lora():
    with pytest.raises(ValueError, match=r"actor_rollout_ref\.actor\.strategy=megatron.*teacher=live"):
        check_teacher_setup(_cfg(**{"actor_rollout_ref.actor.strategy": "megatron"}), "sync")
    with pytest.raises(ValueError, match=r"lora_rank=8.*teacher=live"):
        check_teacher_setup(_cfg(**{"actor_rollout_ref.model.lora_rank": 8}), "frozen")
    check_teacher_setup(_cfg(**{"actor_rollout_ref.model.lora_rank": 8}), "live")
    check_teacher_setup(_cfg(**{"actor_rollout_ref.actor.strategy": "fsdp"}), "sync")


def test_the_entry_point_runs_the_guard(tmp_path):
    """``python -m rlsd_verl.main`` stops before Ray on a refused setting."""
    from hydra import compose, initialize_config_module

    from rlsd_verl.main import prepare

    with initialize_config_module("rlsd_verl.config", version_base=None):
        cfg = compose(
            "rlsd_trainer",
            overrides=["preset=cpu", "algorithm.adv_estimator=rlsd", "actor_rollout_ref.model.path=unused",
                       "actor_rollout_ref.rollout.n=2", "algorithm.rollout_correction.bypass_mode=True"],
        )
    with pytest.raises(ValueError, match="bypass_mode"):
        prepare(cfg)
