"""Teacher sequences, assembled on the training worker that runs the teacher forward.

Input: the worker's shard of the batch as verl's TransferQueue hands it over (nested tensors,
one row per response): ``rlsd_teacher_prompt_ids`` (written by the agent loop, or by the
trainer for SDPO and padding rows), the student's ``responses`` / ``response_mask`` and the
row's own ``multi_modal_inputs`` (pixel values and grids, already on this worker).

Output: a batch in the layout verl's engine reads in its no-padding path (the layout of the
``old_log_probs`` pass): ``input_ids`` = teacher prompt ⊕ the student's response ids
(unchanged), ``prompts``, ``responses``, ``response_mask`` / ``loss_mask``, all-ones
``attention_mask``, ``position_ids`` (``arange`` for text models; 4 rows for Qwen-VL M-RoPE:
text positions + the processor's ``get_rope_index`` over the teacher sequence), and the row's
``multi_modal_inputs`` by reference — no pixel tensor is copied or stored a second time.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from tensordict import NonTensorData, TensorDict

from rlsd_verl.teacher.inputs import teacher_position_ids

TEACHER_PROMPT_FIELD = "rlsd_teacher_prompt_ids"


def _rows(t: torch.Tensor) -> list[torch.Tensor]:
    if t.is_nested:
        return list(t.unbind(0))
    return list(t)


def _items(value: Any, n: int) -> list:
    """Per-row entries of a non-tensor column, however tensordict hands it over."""
    rows = [value] * n if isinstance(value, dict) else list(value)
    return [r.data if isinstance(r, NonTensorData) else r for r in rows]


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
    for prompt, response, mm in zip(prompts, responses, mm_rows):
        ids = torch.cat([prompt.to(torch.int64), response.to(torch.int64)])
        input_ids.append(ids)
        positions.append(teacher_position_ids(processor, ids, mm))
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
