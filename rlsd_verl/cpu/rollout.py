"""The CPU backend's rollout, added to verl's registries.

``actor_rollout_ref.rollout.name=hf`` selects :mod:`rlsd_verl.cpu.hf_rollout` (Hugging
Face ``generate``; the CPU backend's rollout). ``vllm`` (CPU and GPU) gets verl's own adapter with a
weight push that stops on the receiver's error (:mod:`rlsd_verl.workers.vllm_push`). Registration only
stores import paths, so it is cheap enough to run in every process that imports verl.
"""

HF_BACKEND = "hf"
#: verl's vLLM adapter with the guarded weight push (GPU and CPU runs alike)
VLLM_ADAPTER = "rlsd_verl.workers.vllm_push.GuardedServerAdapter"


def register() -> None:
    """Add ``hf`` to verl's rollout registries and point ``vllm`` at :data:`VLLM_ADAPTER` (idempotent)."""
    import importlib

    from verl.workers.rollout import base as rollout_base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    rollout_base._ROLLOUT_REGISTRY[(HF_BACKEND, "async")] = "rlsd_verl.cpu.hf_rollout.HFServerAdapter"
    rollout_base._ROLLOUT_REGISTRY[("vllm", "async")] = VLLM_ADAPTER
    RolloutReplicaRegistry.register(
        HF_BACKEND, lambda: importlib.import_module("rlsd_verl.cpu.hf_rollout").HFReplica
    )
