"""The teacher-info row has one named layout, written and read through the same helpers."""

from __future__ import annotations

import pytest
import torch

from rlsd_verl.teacher import agent_loop, sequences
from rlsd_verl.teacher.fields import (
    TEACHER_INFO_COLUMNS,
    TEACHER_PROMPT_FIELD,
    info_column,
    teacher_info_row,
    teacher_info_rows,
)
from rlsd_verl.teacher.inputs import TeacherPrompt


def test_a_built_prompt_reads_back_by_column_name():
    row = teacher_info_row(TeacherPrompt(prompt_ids=[5, 6, 7], hint_truncated=True, hint_tokens=4, fast_path=True))
    info = torch.stack([row, teacher_info_rows(9)[0]])
    assert info.shape == (2, len(TEACHER_INFO_COLUMNS))
    assert info_column(info, "prompt_len").tolist() == [3.0, 9.0]
    assert info_column(info, "hint_truncated").tolist() == [1.0, 0.0]
    assert info_column(info, "hint_tokens").tolist() == [4.0, 0.0]
    assert info_column(info, "fast_path").tolist() == [1.0, 0.0]


def test_rows_broadcast_scalars_and_reject_a_foreign_layout():
    info = teacher_info_rows([3, 4, 5], fast_path=1)
    assert info_column(info, "prompt_len").tolist() == [3.0, 4.0, 5.0]
    assert info_column(info, "fast_path").tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="rlsd_teacher_info rows must have the columns"):
        info_column(torch.zeros(3, 7), "prompt_len")
    with pytest.raises(ValueError, match="'no_such_column' is not a column"):
        info_column(info, "no_such_column")


def test_the_field_names_are_defined_once():
    assert agent_loop.TEACHER_PROMPT_FIELD is TEACHER_PROMPT_FIELD
    assert sequences.TEACHER_PROMPT_FIELD is TEACHER_PROMPT_FIELD
