"""Teacher inputs: the student's own prompt with the privileged block, plus its own response.

For each sampled response the teacher is the same model, conditioned on privileged
information r (by default the reference answer, ``reward_model.ground_truth``). Its input is
built so that the only difference from the student's input is r:

1. messages — a copy of the row's own chat messages (``raw_prompt``) with the rendered
   teacher template (``algorithm.rlsd.teacher_template``) appended to the **last user turn**;
2. prompt ids — rendered by the very builder verl's agent loop used for the student (verl's
   Continuous Token builder, same tokenizer / processor / chat-template kwargs), with the
   same images (the row's images, resized by the dataset's own ``process_multi_modal_info``),
   so image placeholders expand identically;
3. response — the student's response token ids appended **unchanged** (never decoded and
   re-encoded);
4. positions — recomputed for the teacher sequence (3-D M-RoPE ids for Qwen-VL, through
   verl's own ``_compute_position_ids``); the student's ``multi_modal_inputs`` (pixel values,
   grids) are reused as they are.

A hint longer than ``max_hint_tokens`` is cut, and a teacher prompt over its budget
(``max_prompt_length + max_hint_tokens``) cuts the hint further; both are counted, never
raised. With an empty hint and the template ``"{hint}"`` the teacher input equals the
student's, which the alignment tests use.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Optional

import torch

from rlsd_verl.teacher.templates import render_teacher_template


def lookup_hint(row: dict, hint_key: str) -> str:
    """The privileged text of one dataset row at the dotted path ``hint_key``.

    Raises ``KeyError`` naming the key (and what the row has) when it is missing.
    Lists (several gold answers) are joined with " or "; other values are ``str``-ed.
    """
    node: Any = row
    walked = []
    for part in hint_key.split("."):
        walked.append(part)
        if isinstance(node, dict) and part in node:
            node = node[part]
            continue
        have = sorted(node.keys()) if isinstance(node, dict) else type(node).__name__
        raise KeyError(
            f"algorithm.rlsd.hint_key={hint_key!r}: the row has no {'.'.join(walked)!r} (found {have}). "
            "Point hint_key at the field holding the privileged information."
        )
    if node is None:
        return ""
    if isinstance(node, (list, tuple)):
        return " or ".join(str(x) for x in node)
    if hasattr(node, "tolist"):
        value = node.tolist()
        return " or ".join(str(x) for x in value) if isinstance(value, list) else str(value)
    return str(node)


def privileged_messages(raw_prompt: list[dict], privileged_text: str) -> list[dict]:
    """A copy of ``raw_prompt`` with ``privileged_text`` appended to the last user turn.

    String content gets the text appended; list content (multimodal parts) gets a text
    part appended after the existing parts, so images keep their order and position.
    """
    messages = copy.deepcopy(list(raw_prompt))
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        if not privileged_text:
            return messages
        content = message.get("content")
        if isinstance(content, str):
            message["content"] = content + privileged_text
        elif isinstance(content, list):
            message["content"] = list(content) + [{"type": "text", "text": privileged_text}]
        else:
            raise TypeError(f"cannot add the privileged block to a user message whose content is {type(content)}")
        return messages
    raise ValueError("raw_prompt has no user message to carry the privileged information")


@dataclass
class TeacherPrompt:
    prompt_ids: list[int]
    hint_truncated: bool = False
    hint_tokens: int = 0
    images: Optional[list] = None
    videos: Optional[list] = None


@dataclass
class TeacherPromptBuilder:
    """Renders teacher prompts exactly as verl's agent loop renders student prompts."""

    tokenizer: Any
    processor: Any
    data_config: Any
    hf_model_type: Optional[str]
    template: str
    max_hint_tokens: int
    prompt_budget: int
    dataset_cls: Any = None
    _builder: Any = field(default=None, repr=False)

    def __post_init__(self):
        from verl.utils.dataset.rl_dataset import get_dataset_class
        from verl.utils.tokenizer.continuous_token_wiring import create_continuous_token_builder

        if self.dataset_cls is None:
            self.dataset_cls = get_dataset_class(self.data_config)
        self._builder = create_continuous_token_builder(
            self.tokenizer,
            hf_model_type=self.hf_model_type,
            chat_template_kwargs=self.data_config.get("apply_chat_template_kwargs", {}) or {},
            mm_processor_kwargs=self.data_config.get("mm_processor_kwargs", {}) or {},
            processor=self.processor,
        )

    def _multi_modal(self, messages: list[dict]) -> tuple[Optional[list], Optional[list]]:
        if self.processor is None:
            return None, None
        patch = getattr(getattr(self.processor, "image_processor", None), "patch_size", 14)
        if hasattr(self.dataset_cls, "_process_multi_modal_info"):
            images, videos, _audios = self.dataset_cls._process_multi_modal_info(
                messages, image_patch_size=patch, config=self.data_config
            )
            return images, videos
        return None, None

    def render(self, messages: list[dict]) -> tuple[list[int], Optional[list], Optional[list]]:
        images, videos = self._multi_modal(messages)
        ids = self._builder.build_initial_tokens(messages, images=images, videos=videos)
        return list(ids), images, videos

    def _cut(self, hint: str, n_tokens: int) -> str:
        ids = self.tokenizer.encode(hint, add_special_tokens=False)
        return self.tokenizer.decode(ids[: max(0, n_tokens)], skip_special_tokens=False)

    def build(self, raw_prompt: list[dict], hint: str, template: Optional[str] = None) -> TeacherPrompt:
        """Teacher prompt ids for one row; the hint is cut to fit, never raising on length.

        ``template`` overrides the builder's template for this row (SDPO's per-row block).
        """
        template = self.template if template is None else template
        hint_ids = self.tokenizer.encode(hint, add_special_tokens=False) if hint else []
        truncated = False
        if len(hint_ids) > self.max_hint_tokens:
            hint, truncated = self._cut(hint, self.max_hint_tokens), True
            hint_ids = hint_ids[: self.max_hint_tokens]
        for _ in range(4):
            messages = privileged_messages(raw_prompt, render_teacher_template(template, hint))
            ids, images, videos = self.render(messages)
            overflow = len(ids) - self.prompt_budget
            if overflow <= 0 or not hint:
                return TeacherPrompt(ids, truncated, len(hint_ids), images, videos)
            keep = max(0, len(hint_ids) - overflow)
            hint, truncated = self._cut(hint, keep), True
            hint_ids = hint_ids[:keep]
        # still over budget after the cuts: drop the hint entirely (never crash a step)
        messages = privileged_messages(raw_prompt, render_teacher_template(template, ""))
        ids, images, videos = self.render(messages)
        return TeacherPrompt(ids, True, 0, images, videos)


def teacher_position_ids(processor, input_ids: torch.Tensor, multi_modal_inputs: dict) -> torch.Tensor:
    """Position ids of a teacher sequence, computed by verl's agent-loop code.

    Returns (seq_len,) for text models and (4, seq_len) for M-RoPE models (row 0 text
    positions, rows 1-3 the t/h/w ids from the processor's ``get_rope_index``).
    """
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker

    mm = dict(multi_modal_inputs or {})
    if processor is not None and hasattr(processor, "get_rope_index"):
        # verl's helper recomputes mm_token_type_ids from the ids when this key is present
        # (transformers >= 5.3 needs them for get_rope_index); the stored inputs lack it.
        mm["mm_token_type_ids"] = True
    ids = input_ids.reshape(1, -1)
    pos = AgentLoopWorker._compute_position_ids(
        SimpleNamespace(processor=processor), ids, torch.ones_like(ids), mm
    )
    return pos.squeeze(0)
