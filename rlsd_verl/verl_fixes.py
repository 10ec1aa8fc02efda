"""Fixes for verl 0.9.1 bugs that hit real runs, applied by the plugin in every process.

Uniform-length batches (``maybe_fix_3d_position_ids``)
    verl stores each trajectory's ``position_ids`` in TransferQueue and reads a batch back as a
    nested (jagged) tensor — unless every sequence of the batch has the same length, in which
    case the 3-D M-RoPE ids come back ragged along the wrong dimension (or dense) while
    ``input_ids`` is still nested. The engine's no-padding path then packs the dense position ids wrongly and a
    Qwen-VL forward fails (``apply_multimodal_rotary_pos_emb``: "size of tensor a (356) must
    match the size of tensor b (16)"). It happens whenever all responses of a micro-batch hit
    ``max_response_length`` with prompts of equal length, e.g. fixed-template VL prompts. The
    fix converts such dense position ids to the nested layout of ``input_ids`` (one row per
    sequence, ragged along the sequence dimension) before verl's own 3-D fix-up runs.
"""

from __future__ import annotations

import sys

import torch

_APPLIED = False


def _nest(rows: list[torch.Tensor]) -> torch.Tensor:
    if rows[0].dim() == 2:  # (4, seq) each: ragged along the last dim, as verl's engine packs it
        nested = torch.nested.as_nested_tensor([r.transpose(0, 1).contiguous() for r in rows], layout=torch.jagged)
        return nested.transpose(1, 2)
    return torch.nested.as_nested_tensor(rows, layout=torch.jagged)


def nest_dense_position_ids(data) -> bool:
    """Give ``position_ids`` the nested layout of a nested ``input_ids`` (in place). True if changed.

    Two shapes come back from a uniform-length batch: a dense ``(batch, [4,] seq)`` tensor, and
    a 3-D nested tensor ragged along the *wrong* dimension, whose values are ``(batch·4, seq)``
    instead of ``(4, total)`` (verl's fix-up then relabels it and the packing reads garbage).
    """
    keys = data.keys()
    if "position_ids" not in keys or "input_ids" not in keys:
        return False
    pos, ids = data["position_ids"], data["input_ids"]
    if not ids.is_nested:
        return False
    lengths = ids.offsets().diff().tolist()
    batch = len(lengths)
    if not pos.is_nested:
        if pos.shape[-1] < max(lengths, default=0):
            raise ValueError(f"position_ids {tuple(pos.shape)} are shorter than the sequences {lengths}")
        rows = [pos[i, ..., :n] for i, n in enumerate(lengths)]
    elif pos.dim() == 3 and batch > 1 and len(set(lengths)) == 1:
        values = pos.values()
        if tuple(values.shape) != (batch * 4, lengths[0]):
            return False  # the regular (4, total) layout: verl's own fix-up handles it
        rows = list(values.reshape(batch, 4, lengths[0]).unbind(0))
    else:
        return False
    data["position_ids"] = _nest(rows)
    return True


def apply() -> None:
    """Install the fixes once per process (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    import verl.utils.tensordict_utils as tdu

    original = tdu.maybe_fix_3d_position_ids

    def maybe_fix_3d_position_ids(data):
        nest_dense_position_ids(data)
        return original(data)

    maybe_fix_3d_position_ids.__wrapped__ = original
    for name, mod in list(sys.modules.items()):
        if mod is not None and (name == "verl" or name.startswith("verl.")):
            if getattr(mod, "maybe_fix_3d_position_ids", None) is original:
                mod.maybe_fix_3d_position_ids = maybe_fix_3d_position_ids
    tdu.maybe_fix_3d_position_ids = maybe_fix_3d_position_ids
    _APPLIED = True
