"""verl 0.9.1 fix: dense position_ids from a uniform-length batch are nested like input_ids."""

from __future__ import annotations

import torch
from tensordict import TensorDict

import rlsd_verl.plugin  # noqa: F401  (installs the fixes, as in every verl process)
from rlsd_verl.verl_fixes import nest_dense_position_ids


def _batch(mrope: bool):
    lengths = [5, 5, 5]  # every sequence equally long: what TransferQueue returns dense
    ids = torch.nested.as_nested_tensor([torch.arange(n) + 10 * i for i, n in enumerate(lengths)], layout=torch.jagged)
    pos = torch.stack([torch.arange(5).expand(4, 5) if mrope else torch.arange(5) for _ in lengths]) * 1
    return TensorDict({"input_ids": ids, "position_ids": pos.clone()}, batch_size=[3]), pos


def test_verls_fixup_now_nests_dense_3d_position_ids_like_the_engine_expects():
    from verl.utils.tensordict_utils import maybe_fix_3d_position_ids  # the patched name, as verl's engine imports it
    import verl.workers.engine.base as engine_base

    assert engine_base.maybe_fix_3d_position_ids is maybe_fix_3d_position_ids
    data, dense = _batch(mrope=True)
    maybe_fix_3d_position_ids(data)
    pos = data["position_ids"]
    assert pos.is_nested and pos.dim() == 3
    # the engine's packing (transformer_impl: position_ids.values().unsqueeze(1)) sees (4, 1, total)
    packed = pos.values().unsqueeze(1)
    assert packed.shape == (4, 1, 15)
    assert torch.equal(packed[:, 0], torch.cat(list(dense), dim=-1))


def test_nested_ragged_along_the_wrong_dim_is_rebuilt():
    """What TransferQueue returned in a real run: (batch, j, seq) with values (batch*4, seq)."""
    from verl.utils.tensordict_utils import maybe_fix_3d_position_ids

    data, dense = _batch(mrope=True)
    wrong = torch.nested.as_nested_tensor(list(dense), layout=torch.jagged)  # ragged over the "4" dim
    assert tuple(wrong.values().shape) == (12, 5)
    data["position_ids"] = wrong
    maybe_fix_3d_position_ids(data)
    packed = data["position_ids"].values().unsqueeze(1)
    assert packed.shape == (4, 1, 15)
    assert torch.equal(packed[:, 0], torch.cat(list(dense), dim=-1))


def test_regular_layout_is_left_to_verl():
    data, dense = _batch(mrope=True)
    lengths = [5, 4, 3]
    ids = torch.nested.as_nested_tensor([torch.arange(n) for n in lengths], layout=torch.jagged)
    rows = [torch.arange(n).expand(4, n) for n in lengths]
    good = torch.nested.as_nested_tensor([r.T.contiguous() for r in rows], layout=torch.jagged).transpose(1, 2)
    data = TensorDict({"input_ids": ids, "position_ids": good}, batch_size=[3])
    assert not nest_dense_position_ids(data)
    assert data["position_ids"] is good


def test_text_position_ids_and_already_nested_inputs():
    data, dense = _batch(mrope=False)
    assert nest_dense_position_ids(data)
    assert torch.equal(data["position_ids"].values(), dense.reshape(-1))
    assert not nest_dense_position_ids(data)  # idempotent: already nested
