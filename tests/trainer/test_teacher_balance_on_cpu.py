"""The teacher pass re-balances rows over data-parallel ranks with verl's own ``_balance_batch``,
by the *teacher* sequence lengths, without adding rows."""

from __future__ import annotations

from types import SimpleNamespace

from omegaconf import OmegaConf
from transfer_queue import KVBatchMeta

from rlsd_verl.trainer.rlsd_trainer import RLSDTrainer


def _trainer(dp: int):
    trainer = object.__new__(RLSDTrainer)  # the driver-side state _teacher_meta reads; no Ray, no workers
    trainer.method = "rlsd"
    trainer.global_steps = 1
    trainer.use_critic = False
    trainer.tokenizer = SimpleNamespace(eos_token_id=0)
    trainer.actor_rollout_wg = SimpleNamespace(_dispatch_info={"actor": list(range(dp))})
    trainer.config = OmegaConf.create({
        "trainer": {"critic_warmup": 0},
        "actor_rollout_ref": {"actor": {"ppo_mini_batch_size": 1}, "rollout": {"n": 2, "temperature": 1.0}},
    })
    return trainer


def test_rows_are_balanced_by_teacher_lengths_with_verls_balancer():
    trainer = _trainer(dp=2)
    tags = [{"prompt_len": 5, "response_len": r, "seq_len": 5 + r} for r in (10, 10, 10, 10)]
    batch = KVBatchMeta(partition_id="train", keys=["a_0_0", "a_1_0", "b_0_0", "b_1_0"], tags=tags, fields=[])
    teacher_prompt_lens = [100, 100, 5, 5]  # two rows with a long teacher prompt: one per rank
    metrics: dict = {}
    meta = trainer._teacher_meta(batch, teacher_prompt_lens, {"method": "rlsd", "kwargs": {}}, metrics)
    assert sorted(meta.keys) == sorted(batch.keys) and len(meta) == 4
    ranks = [meta.keys[:2], meta.keys[2:]]  # verl's dispatch splits the re-ordered batch in equal halves
    assert all(sum(k in ("a_0_0", "a_1_0") for k in rank) == 1 for rank in ranks)
    seq = {k: t["seq_len"] for k, t in zip(meta.keys, meta.tags)}
    assert seq == {"a_0_0": 110, "a_1_0": 110, "b_0_0": 15, "b_1_0": 15}
    assert metrics["teacher_seqlen/balanced_max"] == 125  # 110 + 15 on each rank
    assert meta.extra_info["rlsd_params"]["method"] == "rlsd"
    assert batch.tags[0]["seq_len"] == 15  # the student batch's tags are not changed

