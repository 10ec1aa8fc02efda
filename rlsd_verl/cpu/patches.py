"""The verl 0.9.1 seams that assume an accelerator, fixed for the CPU platform.

Each patch is applied only by :func:`rlsd_verl.cpu.enable` (i.e. when the CPU backend is
on) and only touches module attributes, never verl's files:

1. ``initialize_global_process_group_ray`` builds ``"cpu:gloo,<device>:<backend>"``; with
   device ``cpu`` that is ``"cpu:gloo,cpu:gloo"``, which torch rejects ("Duplicate device
   type cpu"). The patched version collapses it to plain ``gloo``.
2. The FSDP engine forces ``CPUOffloadPolicy(pin_memory=True)`` for forward-only engines
   (ref / teacher). Pinned memory needs an accelerator; the patch turns pinning off.
3. verl's Qwen2/2.5-VL "remove padding" attention calls flash-attn's varlen kernel;
   :mod:`rlsd_verl.cpu.attention` supplies the same computation in PyTorch SDPA.
4. FSDP engines are registered for ``device in {cuda, npu}`` only; the engine lookup is
   pointed at them with verl's own override ``VERL_ENGINE_DEVICE=cuda`` (set by
   :func:`rlsd_verl.cpu.enable`, not here). The engine itself then runs on the platform's
   ``cpu`` device.
"""

from __future__ import annotations

import functools
import sys

_APPLIED = False


def _gloo_only_backend(backend: str | None) -> str | None:
    if backend is None:
        return "gloo"
    parts = [p for p in backend.split(",") if p]
    if all(p.split(":")[-1] == "gloo" for p in parts):
        return "gloo"
    return backend


def apply() -> None:
    """Apply the CPU patches once per process (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    import verl.utils.distributed as dist_utils
    import verl.utils.fsdp_utils as fsdp_utils

    original_init = dist_utils.initialize_global_process_group_ray

    @functools.wraps(original_init)
    def initialize_global_process_group_ray(timeout_second=None, backend=None):
        return original_init(timeout_second=timeout_second, backend=_gloo_only_backend(backend))

    initialize_global_process_group_ray.__rlsd_verl_patched__ = True
    _set_everywhere("initialize_global_process_group_ray", original_init, initialize_global_process_group_ray)

    policy_cls = getattr(fsdp_utils, "CPUOffloadPolicy", None)
    if policy_cls is not None and not getattr(policy_cls, "__rlsd_verl_patched__", False):

        class UnpinnedCPUOffloadPolicy(policy_cls):
            """CPUOffloadPolicy that never pins memory (pinning needs an accelerator)."""

            __rlsd_verl_patched__ = True

            def __init__(self, pin_memory: bool = False, **kwargs):
                super().__init__(pin_memory=False, **kwargs)

        _set_everywhere("CPUOffloadPolicy", policy_cls, UnpinnedCPUOffloadPolicy)

    from rlsd_verl.cpu.attention import patch_qwen2_vl_attention

    patch_qwen2_vl_attention()
    _APPLIED = True


def _set_everywhere(name: str, old, new) -> None:
    """Rebind ``name`` in every already-imported verl module that holds ``old``.

    Modules imported later pick up the new attribute from its home module, because the
    patch runs during ``import verl`` (the plugin hook), before the engine modules load.
    """
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or not (mod_name == "verl" or mod_name.startswith("verl.")):
            continue
        if getattr(mod, name, None) is old:
            setattr(mod, name, new)
