"""vLLM's worker extension for ``rollout.name=vllm`` on the CPU backend.

verl passes ``worker_extension_cls`` to vLLM (``vllm_async_server.py``: verl's own
``vLLMColocateWorkerExtension``, which ``rollout.engine_kwargs.vllm.worker_extension_cls`` overrides);
``preset=cpu`` names :class:`CPUWorkerExtension`, a subclass that keeps everything verl's extension does and
adds the one change vLLM's CPU worker needs for verl's weight push:

vLLM's CPU linear layer prepacks its weight for oneDNN after loading and then **drops** ``layer.weight``
(``UnquantizedLinearMethod.process_weights_after_loading`` →
``dispatch_cpu_unquantized_gemm(layer, remove_weight=True)``). verl's weight push reloads weights through
``param.weight_loader`` every step; on the emptied parameter that fails ("'Parameter' object has no
attribute 'weight_loader'"), and verl's shared-memory sender then hangs instead of stopping. The patch keeps
the weight and computes the layer with ``torch.nn.functional.linear`` on it, so a push is seen by the next
generate (greedy tokens equal Hugging Face's on the same weights; log-prob difference ~5e-6 in fp32).

The module is imported by vLLM in its worker process (it resolves the extension class before loading the
model), so the patch is in place before the first ``process_weights_after_loading``.
"""

from __future__ import annotations

import torch
from verl.workers.rollout.vllm_rollout.utils import vLLMColocateWorkerExtension

from rlsd_verl.cpu.vllm_checks import EXTENSION_CLS  # noqa: F401  (the name preset=cpu gives this class)
from rlsd_verl.workers.push_guard import unmask_cleanup_error


def _keep_weight(self, layer: torch.nn.Module) -> None:
    """``process_weights_after_loading`` on CPU: no prepacking, ``layer.weight`` kept for the weight push."""
    layer.cpu_linear = torch.nn.functional.linear


def keep_linear_weights() -> None:
    """Make vLLM's unquantized CPU linear layers keep their weight (idempotent; checked to apply)."""
    from vllm.model_executor.layers import linear

    method = linear.UnquantizedLinearMethod
    if getattr(method.process_weights_after_loading, "__rlsd_verl_patched__", False):
        return
    original = method.process_weights_after_loading
    if "dispatch_cpu_unquantized_gemm" not in original.__code__.co_names:
        raise RuntimeError(
            "vLLM's UnquantizedLinearMethod.process_weights_after_loading no longer calls "
            "dispatch_cpu_unquantized_gemm: rlsd_verl.cpu.vllm_worker's patch (keep the weight for verl's "
            "weight push) does not fit this vLLM; check the vLLM version against scripts/install_cpu.sh"
        )
    _keep_weight.__rlsd_verl_patched__ = True
    method.process_weights_after_loading = _keep_weight


keep_linear_weights()


class CPUWorkerExtension(vLLMColocateWorkerExtension):
    """verl's colocate worker extension plus :func:`keep_linear_weights` (CPU backend only); a push that
    fails reports its own error, not verl's shared-memory cleanup's (:func:`unmask_cleanup_error`)."""

    def __new__(cls, **kwargs):
        keep_linear_weights()
        return super().__new__(cls, **kwargs)

    def update_weights_from_ipc(self, *args, **kwargs):
        try:
            return super().update_weights_from_ipc(*args, **kwargs)
        except BufferError as error:
            raise unmask_cleanup_error(error) from None
