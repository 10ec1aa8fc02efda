"""verl's own GRPO trainer, end to end on the CPU backend (foundation issue).

These runs drive ``python -m rlsd_verl.main preset=cpu algorithm.adv_estimator=grpo``: verl's V1
trainer on TransferQueue, the agent loop with our ``hf`` rollout, the reward loop, the FSDP2
engine on gloo, validation and checkpointing. They fail if the model is not updated.
"""

from __future__ import annotations

import glob

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import assert_ok, run_trainer, tiny_run_overrides

pytestmark = pytest.mark.e2e


def _initial_weights(model_dir: str) -> dict[str, torch.Tensor]:
    return load_file(glob.glob(f"{model_dir}/*.safetensors")[0])


def _assert_model_updated(ckpt_dir, model_dir: str) -> None:
    """The checkpointed actor weights differ from the initial ones (so training changed the model)."""
    shards = glob.glob(str(ckpt_dir / "global_step_2" / "actor" / "model_world_size_1_rank_0.pt"))
    assert shards, f"no actor checkpoint under {ckpt_dir}"
    state = torch.load(shards[0], map_location="cpu", weights_only=False)
    initial = _initial_weights(model_dir)
    changed, compared = 0, 0
    for name, value in state.items():
        value = value.to_local() if hasattr(value, "to_local") else value
        key = name if name in initial else next((k for k in initial if name.endswith(k) or k.endswith(name)), None)
        if key is None or initial[key].shape != value.shape:
            continue
        compared += 1
        changed += int(not torch.equal(initial[key].float(), value.float()))
    assert compared > 0, "could not match any checkpoint tensor to the initial weights"
    assert changed > 0, f"none of {compared} parameters changed: the model was not updated"


def _assert_grpo_metrics(run) -> None:
    metrics = run.metrics
    assert set(metrics) >= {1, 2}, f"steps logged: {sorted(metrics)}"
    for step in (1, 2):
        m = metrics[step]
        assert m["actor/grad_norm"] > 0, m["actor/grad_norm"]
        assert "critic/advantages/mean" in m
        assert m["critic/advantages/max"] > 0 > m["critic/advantages/min"]
        # our HF rollout's log-probs agree with the FSDP actor's recomputation
        assert m["training/rollout_probs_diff_max"] < 1e-4
        assert not any(k.startswith("rlsd/") for k in m)


def test_grpo_text_two_steps_with_validation_and_checkpoint(tmp_path, tiny_models, synthetic):
    train, val = synthetic["text"]
    overrides = tiny_run_overrides(tiny_models["text"], train, val, tmp_path, "grpo_text") + [
        "algorithm.adv_estimator=grpo",
        "trainer.total_training_steps=2",
        "trainer.val_before_train=True",
        "trainer.test_freq=2",
        "trainer.save_freq=2",
    ]
    run = run_trainer(tmp_path, "grpo_text", overrides)
    assert_ok(run)
    _assert_grpo_metrics(run)
    assert any(k.startswith("val-core/rlsd_verl/synthetic_text/") for k in run.metrics[0]), "no initial validation"
    assert any(k.startswith("val-core/") for k in run.metrics[2]), "no validation at the last step"
    ckpt = tmp_path / "ckpt"
    assert (ckpt / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    for part in ("model", "optim", "extra_state"):
        assert (ckpt / "global_step_2" / "actor" / f"{part}_world_size_1_rank_0.pt").exists(), part
    _assert_model_updated(ckpt, tiny_models["text"])


def test_grpo_qwen2_5_vl_two_steps_on_images(tmp_path, tiny_models, synthetic):
    train, val = synthetic["vl"]
    overrides = tiny_run_overrides(tiny_models["qwen2_5_vl"], train, val, tmp_path, "grpo_vl") + [
        "algorithm.adv_estimator=grpo",
        "trainer.total_training_steps=2",
        "trainer.save_freq=2",
    ]
    run = run_trainer(tmp_path, "grpo_vl", overrides)
    assert_ok(run)
    _assert_grpo_metrics(run)
    # the prompts carried the image tokens (4 per 56x56 image) on top of the text
    assert run.metrics[1]["prompt_length/mean"] > 40
    _assert_model_updated(tmp_path / "ckpt", tiny_models["qwen2_5_vl"])
