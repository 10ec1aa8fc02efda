"""A verl device platform for plain CPUs (gloo, ``torch.device("cpu")``).

verl 0.9.1 registers platforms for NVIDIA, Ascend and ROCm only, and falls back to
``nvidia`` when none is found. This platform is registered under the name ``cpu`` and is
selected with ``VERL_PLATFORM=cpu`` (``rlsd_verl.cpu.enable()`` sets it).

verl calls a handful of CUDA-style functions on the platform's *device module*
(``get_torch_device().memory_allocated()``, ``.mem_get_info()``, ``.empty_cache()``, RNG
state, ...). ``torch.cpu`` lacks most of them, so :data:`cpu_device_module` is a shim:
every attribute of ``torch.cpu`` is forwarded, the missing ones answer with the CPU
meaning (process RSS for "allocated" memory, system memory for ``mem_get_info``, the
global CPU generator for RNG state) or are no-ops.

Ray resources: the CPU platform keeps verl's ``"GPU"`` resource name, so the trainer's
resource pools are satisfied by *logical* GPUs declared in ``ray_init.num_gpus`` (the CPU
preset sets one per trainer process). Nothing is run on a GPU.
"""

from __future__ import annotations

import contextlib
import types
from typing import Any, Optional

import torch
from verl.plugin.platform.platform_base import PlatformBase
from verl.plugin.platform.platform_manager import PlatformRegistry

PLATFORM_NAME = "cpu"


def _rss_bytes() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # psutil is bundled with ray, but never fail a metric on it
        return 0


class _CPUDeviceModule(types.ModuleType):
    """``torch.cpu`` plus the CUDA-style calls verl makes on its device module."""

    def __init__(self):
        super().__init__("rlsd_verl_cpu_device")
        self._peak_rss = 0

    def __getattr__(self, name: str) -> Any:  # only called for attributes not defined below
        return getattr(torch.cpu, name)

    # --- device --------------------------------------------------------------------
    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def current_device() -> torch.device:
        return torch.device("cpu")

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def set_device(device: Any) -> None:
        return None

    @staticmethod
    def synchronize(device: Any = None) -> None:
        return None

    @staticmethod
    def get_device_name(device: Any = None) -> str:
        return "cpu"

    # --- memory --------------------------------------------------------------------
    @staticmethod
    def empty_cache() -> None:
        return None

    @staticmethod
    def ipc_collect() -> None:
        return None

    @staticmethod
    def set_per_process_memory_fraction(fraction: float, device: Any = None) -> None:
        return None

    def memory_allocated(self, device: Any = None) -> int:
        rss = _rss_bytes()
        self._peak_rss = max(self._peak_rss, rss)
        return rss

    memory_reserved = memory_allocated

    def max_memory_allocated(self, device: Any = None) -> int:
        return max(self._peak_rss, self.memory_allocated())

    max_memory_reserved = max_memory_allocated

    def reset_peak_memory_stats(self, device: Any = None) -> None:
        self._peak_rss = 0

    @staticmethod
    def mem_get_info(device: Any = None) -> tuple[int, int]:
        try:
            import psutil

            vm = psutil.virtual_memory()
            return int(vm.available), int(vm.total)
        except Exception:
            return 0, 0

    @staticmethod
    def memory_stats(device: Any = None) -> dict:
        return {}

    # --- RNG -----------------------------------------------------------------------
    @staticmethod
    def get_rng_state(device: Any = None) -> torch.Tensor:
        return torch.get_rng_state()

    @staticmethod
    def set_rng_state(state: torch.Tensor, device: Any = None) -> None:
        torch.set_rng_state(state)

    @staticmethod
    def manual_seed(seed: int) -> None:
        torch.manual_seed(seed)

    manual_seed_all = manual_seed


cpu_device_module = _CPUDeviceModule()


@PlatformRegistry.register(platform=PLATFORM_NAME)
class PlatformCPU(PlatformBase):
    """verl platform for CPU-only machines: device ``cpu``, collective backend ``gloo``."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> types.ModuleType:
        return cpu_device_module

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        # Never auto-detected: the CPU backend is opt-in (VERL_PLATFORM=cpu).
        return False

    def current_device(self) -> torch.device:
        # verl passes this to `module.to(device=...)` and FSDP2; an int would mean an accelerator.
        return torch.device("cpu")

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        return None

    def synchronize(self, device_index: Optional[int] = None) -> None:
        return None

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        return None

    def empty_cache(self) -> None:
        return None

    def get_device_capability(self, device_index: int = 0) -> tuple[Optional[int], Optional[int]]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        # Ray sets CUDA_VISIBLE_DEVICES for the logical GPUs; harmless on a CPU build.
        return "CUDA_VISIBLE_DEVICES"

    @contextlib.contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        return None

    def profiler_stop(self) -> None:
        return None

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    def rollout_env_vars(self) -> dict[str, str]:
        return {}

    def cudart(self) -> Any:
        return None
