"""Variable-length ("remove padding") attention for CPUs, in plain PyTorch SDPA.

verl's Qwen2-VL / Qwen2.5-VL attention patch (``verl.models.transformers.qwen2_vl``),
active whenever ``model.use_remove_padding=True`` (verl's default), calls
``flash_attn_varlen_func`` on packed sequences and only defines its flash globals when
flash-attn is importable. On CPU there is no flash-attn, so the CPU backend swaps in
:func:`varlen_sdpa_attention`, which computes the same thing: causal attention inside each
packed sequence (sequences start where the text position id is 0), nothing across them.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


def segment_ids_from_position_ids(position_ids: torch.Tensor) -> torch.Tensor:
    """(batch, seq) position ids of packed sequences → (batch, seq) sequence index.

    A new sequence starts at every position id 0 (and at a decrease), as in
    ``prepare_fa2_from_position_ids``.
    """
    starts = position_ids == 0
    starts[:, 1:] |= position_ids[:, 1:] < position_ids[:, :-1]
    starts[:, 0] = True
    return torch.cumsum(starts.to(torch.int64), dim=-1)


def varlen_sdpa_attention(
    query_states: torch.Tensor,
    key_states: torch.Tensor,
    value_states: torch.Tensor,
    attention_mask: Optional[torch.Tensor],
    query_length: int,
    is_causal: bool = True,
    position_ids: Optional[torch.Tensor] = None,
    sliding_window: Optional[int] = None,
    use_top_left_mask: bool = False,
    deterministic: Optional[bool] = None,
    **kwargs,
) -> torch.Tensor:
    """Drop-in for verl's ``_custom_flash_attention_forward`` on CPU.

    Inputs are (batch, seq, heads, head_dim) with key/value heads already repeated;
    ``position_ids`` is (batch, seq) (text row of M-RoPE ids). Returns (batch, seq, heads, head_dim).
    """
    from verl.utils.ulysses import get_ulysses_sequence_parallel_world_size

    if get_ulysses_sequence_parallel_world_size() > 1:
        raise NotImplementedError("Ulysses sequence parallelism is not supported by the CPU backend")
    bsz, q_len, _, _ = query_states.shape
    k_len = key_states.shape[1]
    q = query_states.transpose(1, 2)
    k = key_states.transpose(1, 2)
    v = value_states.transpose(1, 2)

    rows = torch.arange(q_len, device=q.device).unsqueeze(-1) + (k_len - q_len)
    cols = torch.arange(k_len, device=q.device).unsqueeze(0)
    allowed = (cols <= rows) if is_causal else torch.ones(q_len, k_len, dtype=torch.bool, device=q.device)
    if sliding_window is not None:
        allowed = allowed & (rows - cols < sliding_window)
    allowed = allowed.unsqueeze(0).expand(bsz, q_len, k_len)
    if position_ids is not None and q_len == k_len:
        if position_ids.ndim == 3:
            position_ids = position_ids[0]
        seg = segment_ids_from_position_ids(position_ids.to(q.device))
        allowed = allowed & (seg.unsqueeze(-1) == seg.unsqueeze(-2))
    if attention_mask is not None and attention_mask.ndim == 2:
        allowed = allowed & attention_mask[:, None, :k_len].to(torch.bool)
    # a fully masked row (left padding) would give NaN; let it attend to itself instead
    empty = ~allowed.any(-1, keepdim=True)
    if empty.any():
        eye = torch.eye(q_len, k_len, dtype=torch.bool, device=q.device).unsqueeze(0)
        allowed = allowed | (empty & eye)
    out = F.scaled_dot_product_attention(
        q,
        k,
        v,
        attn_mask=allowed.unsqueeze(1),
        dropout_p=float(kwargs.get("dropout", 0.0) or 0.0),
        scale=kwargs.get("softmax_scale"),
    )
    return out.transpose(1, 2).contiguous()


def patch_qwen2_vl_attention() -> None:
    """Point verl's Qwen2/2.5-VL varlen attention at :func:`varlen_sdpa_attention`."""
    import verl.models.transformers.qwen2_vl as qwen2_vl

    qwen2_vl._custom_flash_attention_forward = varlen_sdpa_attention
    if not hasattr(qwen2_vl, "_flash_use_top_left_mask"):
        qwen2_vl._flash_use_top_left_mask = False
