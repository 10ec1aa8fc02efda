"""The teacher copy's dtype and size (``algorithm.rlsd.teacher_dtype``), shared by the worker and the preflight.

The actor's weights in verl 0.9.1 are fp32 by default (``fsdp_config.model_dtype: fp32``), but its
forward computes in the FSDP mixed-precision ``param_dtype`` (bf16 unless set; the CPU preset sets
fp32). The teacher is forward-only, so holding its copy in that compute dtype gives the same
forward as the actor's (FSDP casts the fp32 shards to ``param_dtype`` before every matmul anyway)
at half the host memory and half the bytes streamed host → GPU per teacher micro-batch.

Only the standard library at module level: the preflight imports this without torch's cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Accepted spellings of a dtype -> its short name (verl's ``PrecisionType`` spellings).
DTYPE_NAMES = {
    "fp32": "fp32", "float32": "fp32", "float": "fp32", "32": "fp32",
    "bf16": "bf16", "bfloat16": "bf16",
    "fp16": "fp16", "float16": "fp16", "half": "fp16", "16": "fp16",
}
#: Bytes per parameter element of each short dtype name.
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
#: ``torch`` attribute of each short dtype name.
TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
#: verl's FSDP engine computes in bf16 when ``fsdp_config.mixed_precision`` is unset
#: (``verl/workers/engine/fsdp/transformer_impl.py``, ``_build_fsdp_module``).
VERL_DEFAULT_PARAM_DTYPE = "bf16"


def canonical_dtype(value, key: str = "algorithm.rlsd.teacher_dtype") -> str:
    """``"bfloat16"`` -> ``"bf16"`` etc.; a clear error naming ``key`` for anything else."""
    name = DTYPE_NAMES.get(str(value).lower().replace("torch.", "")) if value is not None else None
    if name is None:
        raise ValueError(f"{key}={value!r} is not a dtype; use one of fp32, bf16, fp16 (or null for the actor's "
                         "compute dtype)")
    return name


def _get(cfg, key: str, default=None):
    if cfg is None:
        return default
    if isinstance(cfg, Mapping) or hasattr(cfg, "get"):
        return cfg.get(key, default)
    return getattr(cfg, key, default)


def actor_compute_dtype(actor_config) -> str:
    """The dtype the actor's forward computes in, from ``actor_rollout_ref.actor`` (a config or mapping).

    FSDP / FSDP2: ``fsdp_config.mixed_precision.param_dtype``, verl's default bf16 when unset.
    """
    strategy = _get(actor_config, "strategy", "fsdp")
    if strategy not in ("fsdp", "fsdp2"):
        raise ValueError(f"actor_rollout_ref.actor.strategy={strategy!r}: the teacher copy supports fsdp/fsdp2; set "
                         "algorithm.rlsd.teacher_dtype explicitly or use algorithm.rlsd.teacher=live")
    mixed = _get(_get(actor_config, "fsdp_config"), "mixed_precision")
    param_dtype = _get(mixed, "param_dtype", VERL_DEFAULT_PARAM_DTYPE) if mixed is not None else VERL_DEFAULT_PARAM_DTYPE
    return canonical_dtype(param_dtype, "actor_rollout_ref.actor.fsdp_config.mixed_precision.param_dtype")


def resolve_teacher_dtype(teacher_dtype, actor_config) -> str:
    """``algorithm.rlsd.teacher_dtype`` as a short name; ``None`` means the actor's compute dtype."""
    return actor_compute_dtype(actor_config) if teacher_dtype is None else canonical_dtype(teacher_dtype)


def held_bytes(params: Iterable) -> int:
    """Bytes of the (local shards of the) given tensors: ``Σ numel × element_size``."""
    total = 0
    for p in params:
        local = getattr(p, "_local_tensor", p)
        total += local.numel() * local.element_size()
    return total
