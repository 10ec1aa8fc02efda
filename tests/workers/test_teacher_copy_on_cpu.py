"""``rlsd_verl.workers.teacher_copy``: the teacher copy's dtype from the actor's config, and its bytes."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_module

from rlsd_verl.workers.teacher_copy import actor_compute_dtype, canonical_dtype, held_bytes, resolve_teacher_dtype


def _actor(*overrides):
    with initialize_config_module("rlsd_verl.config", version_base=None):
        return compose("rlsd_trainer", overrides=list(overrides)).actor_rollout_ref.actor


def test_default_is_the_actors_compute_dtype():
    assert actor_compute_dtype(_actor()) == "bf16"  # verl: mixed_precision unset -> bf16 compute
    assert actor_compute_dtype(_actor("+scale=paper", "+experiment=table2/rlsd")) == "bf16"
    assert actor_compute_dtype(_actor("preset=cpu")) == "fp32"  # the CPU preset computes in fp32
    assert resolve_teacher_dtype(None, _actor("preset=cpu")) == "fp32"
    assert resolve_teacher_dtype("bfloat16", _actor("preset=cpu")) == "bf16"


def test_bad_dtype_names_the_key():
    with pytest.raises(ValueError, match=r"algorithm.rlsd.teacher_dtype='int8'.*fp32, bf16, fp16"):
        canonical_dtype("int8")
    assert canonical_dtype(torch.float16) == "fp16"
    with pytest.raises(ValueError, match="actor_rollout_ref.actor.strategy='megatron'"):
        actor_compute_dtype({"strategy": "megatron"})


def test_held_bytes_halves_in_bf16():
    module = torch.nn.Linear(64, 32)
    fp32 = held_bytes(module.parameters())
    assert fp32 == (64 * 32 + 32) * 4
    assert held_bytes(module.to(torch.bfloat16).parameters()) * 2 == fp32
