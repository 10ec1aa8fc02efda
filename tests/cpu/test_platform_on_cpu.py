"""The CPU platform and the patches, in a fresh process each (they change process-wide state)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from rlsd_verl.cpu.patches import _gloo_only_backend


def _run(code: str, env_extra: dict | None = None) -> str:
    import os

    env = dict(os.environ, **(env_extra or {}))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize(
    "given,expected",
    [(None, "gloo"), ("cpu:gloo,cpu:gloo", "gloo"), ("cpu:gloo", "gloo"), ("cpu:gloo,cuda:nccl", "cpu:gloo,cuda:nccl")],
)
def test_backend_string_collapses_only_when_all_gloo(given, expected):
    assert _gloo_only_backend(given) == expected


def test_cpu_platform_is_opt_in():
    out = _run(
        """
        import verl
        from verl.plugin.platform.platform_manager import PlatformRegistry, _detect_platform_name
        assert PlatformRegistry.get("cpu") is not None   # registered by the plugin
        print(_detect_platform_name())
        """,
        {"VERL_PLATFORM": "", "RLSD_VERL_CPU": ""},
    )
    assert out.strip().splitlines()[-1] != "cpu"


def test_enabled_backend_gives_cpu_device_gloo_and_real_process_group():
    out = _run(
        """
        import os, torch
        from rlsd_verl import cpu
        cpu.enable()
        from verl.utils.device import get_device_name, get_device_id, get_nccl_backend, get_torch_device
        assert get_device_name() == "cpu" and get_nccl_backend() == "gloo"
        assert get_device_id() == torch.device("cpu")
        dev = get_torch_device()
        assert dev.memory_allocated() > 0 and dev.max_memory_allocated() >= dev.memory_allocated()
        free, total = dev.mem_get_info(); assert 0 < free <= total
        state = dev.get_rng_state(); a = torch.rand(3); dev.set_rng_state(state); assert torch.equal(a, torch.rand(3))
        dev.empty_cache(); dev.synchronize()
        os.environ.update(RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29611")
        import verl.workers.engine_workers as ew
        ew.initialize_global_process_group_ray(timeout_second=None)
        assert torch.distributed.get_backend() == "gloo"
        t = torch.ones(2); torch.distributed.all_reduce(t); assert t.tolist() == [1.0, 1.0]
        from verl.utils import fsdp_utils
        assert fsdp_utils.CPUOffloadPolicy().pin_memory is False
        import verl.workers.engine.fsdp.transformer_impl as impl
        assert impl.CPUOffloadPolicy(pin_memory=True).pin_memory is False
        print("ok")
        """
    )
    assert out.strip().endswith("ok")


def test_plugin_is_loaded_in_fresh_process_through_the_entry_point():
    out = _run(
        """
        import verl
        from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY
        from verl.workers.rollout.base import _ROLLOUT_REGISTRY
        print(sorted(k for k in ("rlsd", "opsd", "grpo_opsd", "sdpo") if k in ADV_ESTIMATOR_REGISTRY), ("hf", "async") in _ROLLOUT_REGISTRY)
        """,
        {"VERL_USE_EXTERNAL_MODULES": ""},
    )
    assert out.strip().splitlines()[-1] == "['grpo_opsd', 'opsd', 'rlsd', 'sdpo'] True"
