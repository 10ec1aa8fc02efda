"""Start-up refusals for settings under which the teacher pass would be wrong, each naming the flag.

Checked by ``python -m rlsd_verl.main`` before Ray starts (:func:`check_teacher_setup`):

* ``algorithm.rollout_correction.bypass_mode=True`` makes verl use the rollout engine's log-probs
  as ``old_log_probs``. RLSD's Δ_t = lp_teacher − lp_student would then compare the training
  engine (teacher) with the inference engine (student) and absorb their numerical mismatch, a
  bias of the size of ``training/rollout_probs_diff`` on every token. The student log-probs must
  be recomputed by the training engine, as the teacher's are.
* A ``sync``/``frozen`` teacher is a shard-by-shard copy of an FSDP actor: other actor strategies
  (megatron, veomni, torchtitan, …) are refused.
* LoRA with a ``sync``/``frozen`` teacher: the copy would hold the frozen base weights without the
  adapters, so it would not be the policy; ``teacher=live`` (the adapted actor itself) works.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

COPY_STRATEGIES = ("fsdp", "fsdp2")


def check_teacher_setup(config: DictConfig, teacher: str) -> None:
    """Raise ``ValueError`` naming the flag for a setting the teacher pass cannot honour."""
    if OmegaConf.select(config, "algorithm.rollout_correction.bypass_mode", default=False):
        raise ValueError(
            "algorithm.rollout_correction.bypass_mode=True makes old_log_probs the rollout engine's log-probs, so "
            "RLSD's Δ = lp_teacher − lp_student would absorb the rollout/trainer mismatch. Set "
            "algorithm.rollout_correction.bypass_mode=False (the training engine recomputes old_log_probs)."
        )
    if teacher == "live":
        return
    strategy = str(OmegaConf.select(config, "actor_rollout_ref.actor.strategy", default="fsdp"))
    if strategy not in COPY_STRATEGIES:
        raise ValueError(
            f"actor_rollout_ref.actor.strategy={strategy}: the algorithm.rlsd.teacher={teacher} copy mirrors an FSDP "
            f"actor ({', '.join(COPY_STRATEGIES)}) shard by shard. Use actor_rollout_ref.actor.strategy=fsdp2 or "
            "algorithm.rlsd.teacher=live."
        )
    lora_rank = int(OmegaConf.select(config, "actor_rollout_ref.model.lora_rank", default=0) or 0)
    if lora_rank > 0:
        raise ValueError(
            f"actor_rollout_ref.model.lora_rank={lora_rank}: a algorithm.rlsd.teacher={teacher} copy would hold the "
            "base weights without the LoRA adapters, so it would not be the policy. Use algorithm.rlsd.teacher=live."
        )
