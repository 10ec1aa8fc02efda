"""The TransferQueue fields of the teacher pass, and the layout of its per-row info, defined once.

Written per response by the agent loop (:mod:`rlsd_verl.teacher.agent_loop`), or by the trainer for
SDPO and verl's padding rows; read by the training workers (the prompt ids) and by the trainer's
metrics (the info row).
"""

from __future__ import annotations

import torch

#: the teacher prompt's token ids, one jagged row per response
TEACHER_PROMPT_FIELD = "rlsd_teacher_prompt_ids"
#: one float row per response, columns :data:`TEACHER_INFO_COLUMNS`
TEACHER_INFO_FIELD = "rlsd_teacher_info"
#: columns of ``rlsd_teacher_info``: teacher prompt length, hint cut (0/1), hint tokens kept, fast path (0/1),
#: built (1 on the one row per prompt whose rollout built the teacher prompt; 0 on its siblings and on rows
#: whose teacher prompt is their own prompt)
TEACHER_INFO_COLUMNS = ("prompt_len", "hint_truncated", "hint_tokens", "fast_path", "built")


def teacher_info_rows(prompt_len, hint_truncated=0.0, hint_tokens=0.0, fast_path=0.0, built=0.0) -> torch.Tensor:
    """``(n, len(TEACHER_INFO_COLUMNS))`` float32 info rows; each argument is a scalar or ``n`` values."""
    values = (prompt_len, hint_truncated, hint_tokens, fast_path, built)
    columns = [torch.as_tensor(v, dtype=torch.float32).reshape(-1) for v in values]
    n = max(c.numel() for c in columns)
    return torch.stack([c.expand(n) for c in columns], dim=1)


def teacher_info_row(prompt, built_here: bool = True) -> torch.Tensor:
    """The info row of one built :class:`~rlsd_verl.teacher.inputs.TeacherPrompt`, shape ``(len(TEACHER_INFO_COLUMNS),)``."""
    return teacher_info_rows(
        len(prompt.prompt_ids), float(prompt.hint_truncated), prompt.hint_tokens, float(prompt.fast_path), float(built_here)
    )[0]


def info_column(info: torch.Tensor, name: str) -> torch.Tensor:
    """Column ``name`` (one of :data:`TEACHER_INFO_COLUMNS`) of ``(n, len(TEACHER_INFO_COLUMNS))`` info rows."""
    if info.dim() != 2 or info.shape[1] != len(TEACHER_INFO_COLUMNS):
        raise ValueError(f"{TEACHER_INFO_FIELD} rows must have the columns {TEACHER_INFO_COLUMNS}; got shape {tuple(info.shape)}")
    if name not in TEACHER_INFO_COLUMNS:
        raise ValueError(f"{name!r} is not a column of {TEACHER_INFO_FIELD}; its columns are {TEACHER_INFO_COLUMNS}")
    return info[:, TEACHER_INFO_COLUMNS.index(name)]
