"""Teacher sequences, assembled on the training worker that runs the teacher forward.

Input: the worker's shard of the batch as verl's TransferQueue hands it over (nested tensors,
one row per response): ``rlsd_teacher_prompt_ids`` (written by the agent loop, or by the
trainer for SDPO and padding rows), the student's ``responses`` / ``response_mask`` and the
row's own ``multi_modal_inputs`` (pixel values and grids, already on this worker).

Output: a batch in the layout verl's engine reads in its no-padding path (the layout of the
``old_log_probs`` pass): ``input_ids`` = teacher prompt ⊕ the student's response ids
(unchanged), ``prompts``, ``responses``, ``response_mask`` / ``loss_mask``, all-ones
``attention_mask``, ``position_ids`` (``arange`` for text models; 4 rows for Qwen-VL M-RoPE:
text positions + the processor's ``get_rope_index`` over the teacher prompt, once per distinct
prompt, continued over the response by :func:`extend_positions`), and the row's
``multi_modal_inputs`` by reference — no pixel tensor is copied or stored a second time.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from tensordict import NonTensorData, TensorDict

from rlsd_verl.teacher.fields import TEACHER_PROMPT_FIELD
from rlsd_verl.teacher.inputs import teacher_position_ids


def _rows(t: torch.Tensor) -> list[torch.Tensor]:
    if t.is_nested:
        return list(t.unbind(0))
    return list(t)


def _items(value: Any, n: int) -> list:
    """Per-row entries of a non-tensor column, however tensordict hands it over."""
    rows = [value] * n if isinstance(value, dict) else list(value)
    return [r.data if isinstance(r, NonTensorData) else r for r in rows]


def _grid_key(mm: dict) -> bytes:
    grids = [mm.get(k) for k in ("image_grid_thw", "video_grid_thw")]
    return b"|".join(g.numpy().tobytes() if isinstance(g, torch.Tensor) else b"" for g in grids)


def extend_positions(prompt_positions: torch.Tensor, n: int) -> torch.Tensor:
    """Positions of ``prompt ⊕ n text tokens`` from the prompt's own positions.

    Position ids are causal: a prefix's ids do not depend on what follows it. A response is text,
    which continues from the prompt: row 0 (and 1-D ids) by ``arange``; Qwen-VL's M-RoPE rows 1-3
    (``get_rope_index``) from ``max(previous ids) + 1`` in all three rows, as for any text after the
    last image. So the M-RoPE pass runs over the teacher *prompt* only, once per prompt, not over
    every prompt + response.
    """
    if n == 0:
        return prompt_positions
    if prompt_positions.dim() == 1:
        return torch.cat([prompt_positions, prompt_positions[-1] + 1 + torch.arange(n, dtype=prompt_positions.dtype)])
    text = prompt_positions[0, -1] + 1 + torch.arange(n, dtype=prompt_positions.dtype)
    rope = prompt_positions[1:].max() + 1 + torch.arange(n, dtype=prompt_positions.dtype)
    tail = torch.cat([text[None], rope[None].expand(prompt_positions.shape[0] - 1, n)])
    return torch.cat([prompt_positions, tail], dim=1)


def _nested(rows: list[torch.Tensor]) -> torch.Tensor:
    return torch.nested.as_nested_tensor(rows, layout=torch.jagged)


def assemble_teacher_batch(data: TensorDict, processor: Optional[Any]) -> TensorDict:
    """The teacher batch for ``data`` (see the module docstring); non-tensor entries are not copied."""
    prompts = _rows(data[TEACHER_PROMPT_FIELD])
    responses = _rows(data["responses"])
    masks = _rows(data["response_mask"])
    has_mm = "multi_modal_inputs" in data.keys()
    mm_rows = [m or {} for m in _items(data["multi_modal_inputs"], len(prompts))] if has_mm else [{}] * len(prompts)

    input_ids, positions, attn = [], [], []
    prompt_positions: dict[tuple, torch.Tensor] = {}  # the rollouts of a prompt share their teacher prompt
    for prompt, response, mm in zip(prompts, responses, mm_rows):
        prompt = prompt.to(torch.int64)
        ids = torch.cat([prompt, response.to(torch.int64)])
        input_ids.append(ids)
        key = (prompt.numpy().tobytes(), _grid_key(mm))
        if key not in prompt_positions:
            prompt_positions[key] = teacher_position_ids(processor, prompt, mm)
        positions.append(extend_positions(prompt_positions[key], response.numel()))
        attn.append(torch.ones_like(ids))
    fields = {
        "prompts": _nested([p.to(torch.int64) for p in prompts]),
        "responses": _nested([r.to(torch.int64) for r in responses]),
        "response_mask": _nested(masks),
        "loss_mask": _nested(masks),
        "input_ids": _nested(input_ids),
        "attention_mask": _nested(attn),
        "position_ids": _nested(positions),
    }
    out = TensorDict(fields, batch_size=[len(prompts)])
    if has_mm:
        out["multi_modal_inputs"] = data["multi_modal_inputs"]  # the row's own, by reference
    return out
