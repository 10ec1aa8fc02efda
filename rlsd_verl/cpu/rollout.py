"""The CPU backend's rollout, added to verl's registries.

``actor_rollout_ref.rollout.name=hf`` selects :mod:`rlsd_verl.cpu.hf_rollout` (Hugging
Face ``generate``; the CPU backend's rollout). Registration only stores import paths, so it
is cheap enough to run in every process that imports verl.
"""

HF_BACKEND = "hf"


def register() -> None:
    """Add ``hf`` to verl's rollout registries (idempotent)."""
    import importlib

    from verl.workers.rollout import base as rollout_base
    from verl.workers.rollout.replica import RolloutReplicaRegistry

    rollout_base._ROLLOUT_REGISTRY[(HF_BACKEND, "async")] = "rlsd_verl.cpu.hf_rollout.HFServerAdapter"
    RolloutReplicaRegistry.register(
        HF_BACKEND, lambda: importlib.import_module("rlsd_verl.cpu.hf_rollout").HFReplica
    )
