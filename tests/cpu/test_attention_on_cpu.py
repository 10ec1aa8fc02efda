"""The SDPA varlen attention that stands in for flash-attn's on CPU."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rlsd_verl.cpu.attention import segment_ids_from_position_ids, varlen_sdpa_attention


def _reference(q, k, v):
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
    return out.transpose(1, 2)


def test_segments_start_at_zero_positions():
    pos = torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2, 3]])
    assert segment_ids_from_position_ids(pos).tolist() == [[1, 1, 1, 2, 2, 3, 3, 3, 3]]


def test_packed_sequences_equal_separate_causal_attention():
    torch.manual_seed(0)
    lens = [5, 3, 7]
    heads, dim = 2, 8
    qs = [torch.randn(1, n, heads, dim) for n in lens]
    ks = [torch.randn(1, n, heads, dim) for n in lens]
    vs = [torch.randn(1, n, heads, dim) for n in lens]
    pos = torch.cat([torch.arange(n) for n in lens]).unsqueeze(0)
    packed = varlen_sdpa_attention(torch.cat(qs, 1), torch.cat(ks, 1), torch.cat(vs, 1), None, sum(lens), position_ids=pos)
    expected = torch.cat([_reference(q, k, v) for q, k, v in zip(qs, ks, vs)], dim=1)
    assert packed.shape == expected.shape
    assert torch.allclose(packed, expected, atol=1e-6)
    # without the segment split the result differs (the test can fail)
    unsplit = varlen_sdpa_attention(torch.cat(qs, 1), torch.cat(ks, 1), torch.cat(vs, 1), None, sum(lens), position_ids=None)
    assert not torch.allclose(unsplit, expected, atol=1e-3)


def test_3d_mrope_position_ids_use_the_text_row():
    torch.manual_seed(1)
    q = torch.randn(1, 6, 2, 4)
    pos_text = torch.tensor([[0, 1, 2, 0, 1, 2]])
    pos3 = torch.stack([pos_text, pos_text * 7, pos_text * 3])  # (3, 1, seq): only row 0 defines segments
    a = varlen_sdpa_attention(q, q, q, None, 6, position_ids=pos3)
    b = varlen_sdpa_attention(q, q, q, None, 6, position_ids=pos_text)
    assert torch.equal(a, b)
