"""The CPU backend: run verl's real V1 trainer on machines without a GPU.

Off by default. It is switched on by ``trainer.device=cpu`` (the ``preset=cpu`` config of
``python -m rlsd_verl.main`` sets it, with every other setting a CPU run needs), which makes
the entry point call :func:`enable` before Ray starts. :func:`enable` exports the
environment that every Ray process inherits, and the ``verl.plugins`` hook
(:mod:`rlsd_verl.plugin`) then applies the CPU patches in each process on ``import verl``.

Pieces:

* :mod:`rlsd_verl.cpu.platform` — verl platform ``cpu`` (gloo, ``torch.device("cpu")``).
* :mod:`rlsd_verl.cpu.patches` — the three accelerator assumptions of verl 0.9.1.
* :mod:`rlsd_verl.cpu.hf_rollout` — ``rollout.name=hf`` (Hugging Face ``generate``), registered
  by :mod:`rlsd_verl.cpu.rollout`.
"""

from __future__ import annotations

import os

# What every process of a CPU run needs in its environment. VERL_ENGINE_DEVICE is verl's
# own override of the engine-registry lookup (FSDP engines are registered for cuda/npu).
CPU_ENV = {
    "VERL_PLATFORM": "cpu",
    "VERL_ENGINE_DEVICE": "cuda",
    "RLSD_VERL_CPU": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
    "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled"),
    # vLLM's CPU build (rollout.name=vllm): its KV cache is sized in GiB by this variable, not by
    # rollout.gpu_memory_utilization; and no binding of its OpenMP threads to cores the trainer also uses
    "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
    "VLLM_CPU_OMP_THREADS_BIND": os.environ.get("VLLM_CPU_OMP_THREADS_BIND", "nobind"),
}


def is_enabled() -> bool:
    """True in a process whose environment asks for the CPU backend."""
    return os.environ.get("RLSD_VERL_CPU", "") == "1" or os.environ.get("VERL_PLATFORM", "").lower() == "cpu"


def enable() -> None:
    """Switch this process (and the Ray processes it will start) to the CPU backend."""
    os.environ.update(CPU_ENV)
    apply_in_process()


def apply_in_process() -> None:
    """Register the platform and apply the patches in this process (idempotent)."""
    from rlsd_verl.cpu import patches, platform  # noqa: F401  (registers the platform)

    patches.apply()
    _reset_cached_platform()


def _reset_cached_platform() -> None:
    """Forget a platform verl resolved before the CPU backend was switched on."""
    from verl.plugin.platform import platform_manager

    current = platform_manager._current_platform
    if current is not None and current.device_name != "cpu":
        platform_manager._current_platform = None
