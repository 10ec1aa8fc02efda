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
import logging
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Optional

import torch

from rlsd_verl.teacher.templates import official_teacher_messages, render_teacher_template

logger = logging.getLogger(__name__)


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
    #: rendered without the image processor (placeholder runs copied from the student's prompt)
    fast_path: bool = False
    #: why the student's prompt ids could not be reused ("" on the fast path or when none were given):
    #: one of :data:`FALLBACK_REASONS`
    fallback_reason: str = ""


#: why a VL prompt takes the processor fallback: the template's placeholders and the student's runs do not
#: pair up one to one (Qwen3-VL renders a video as timestamped frame groups: one placeholder, several runs),
#: or they pair up but the expansion differs from the student's ids (a processor that adds other tokens)
FALLBACK_REASONS = {
    "placeholders_unpaired": "the template's media placeholders do not pair one to one with the student's "
                             "placeholder runs (e.g. Qwen3-VL splits a video into timestamped frame groups)",
    "ids_differ": "the placeholders pair up but the expanded ids differ from the student's (a template or "
                  "processor that adds or merges tokens)",
}


def media_token_ids(processor) -> tuple[int, ...]:
    """The placeholder token ids a processor expands per image / video (empty for text models)."""
    if processor is None:
        return ()
    from verl.utils.tokenizer.tokenizer import get_processor_token_id

    ids = (get_processor_token_id(processor, "image"), get_processor_token_id(processor, "video"))
    return tuple(i for i in ids if i is not None)


def expand_media_placeholders(collapsed_ids: list[int], student_ids: list[int], media_ids) -> Optional[list[int]]:
    """Expand each single media placeholder of ``collapsed_ids`` into the student's run for it.

    A VL processor renders the chat template with one placeholder token per image (video),
    then replaces the k-th placeholder by ``n_k`` copies, ``n_k`` set by that image's grid. The
    student's prompt ids already hold those runs, in order, for the same images: copying run k
    onto placeholder k gives what the processor would produce, without touching a pixel.
    Returns ``None`` when the placeholders and runs do not pair up (the caller then falls back
    to the processor).
    """
    media = set(media_ids)
    if not media:
        return list(collapsed_ids)
    runs: list[tuple[int, int]] = []  # (token, length) of each placeholder run, in order
    prev = None
    for tok in student_ids:
        if tok in media:
            if tok == prev:
                runs[-1] = (tok, runs[-1][1] + 1)
            else:
                runs.append((tok, 1))
        prev = tok
    out: list[int] = []
    k = 0
    for tok in collapsed_ids:
        if tok in media:
            if k >= len(runs) or runs[k][0] != tok:
                return None
            out.extend([tok] * runs[k][1])
            k += 1
        else:
            out.append(tok)
    return out if k == len(runs) else None


@dataclass
class TeacherPromptBuilder:
    """Renders teacher prompts exactly as verl's agent loop renders student prompts.

    Two ways to render, same ids:

    * **fast** (VL models, when the student's prompt ids are given): the chat template is
      rendered to text and tokenized *without images* (one placeholder per image), then each
      placeholder is expanded to the run the student's prompt has for that image
      (:func:`expand_media_placeholders`). No image is decoded, resized or run through the image
      processor. Before trusting it for a prompt, the builder renders the *student's* messages
      the same way and checks that it reproduces the student's prompt ids exactly; any
      difference (a template that merges placeholders, a processor that adds tokens) switches
      that prompt to the slow path.
    * **processor** (text models always — it is only tokenization; VL models as the fallback):
      verl's Continuous Token builder with the images the agent loop already processed for the
      student (``images=``); only when none are given are the row's images decoded again
      (the dataset's ``process_multi_modal_info``).
    """

    tokenizer: Any
    processor: Any
    data_config: Any
    hf_model_type: Optional[str]
    template: str
    max_hint_tokens: int
    prompt_budget: int
    dataset_cls: Any = None
    #: ``paper``: the template appended to the student's last user turn; ``official``: the released
    #: script's single user message (question + reference block + format sentence, no header)
    prompt_style: str = "paper"
    _builder: Any = field(default=None, repr=False)
    _media: tuple = field(default=(), repr=False)
    #: prompts that took the processor fallback although the student's ids were given, per reason
    #: (:data:`FALLBACK_REASONS`); each reason is logged once per builder
    fallbacks: Counter = field(default_factory=Counter, repr=False)

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
        self._media = media_token_ids(self.processor)

    def _multi_modal(self, messages: list[dict]) -> tuple[Optional[list], Optional[list]]:
        """Decode and resize the messages' images as the agent loop does (the slow path only)."""
        if self.processor is None:
            return None, None
        # verl's agent loop reads the patch size the same way; ``_process_multi_modal_info`` is checked at
        # start-up (rlsd_verl.verl_seams), so a renamed verl method fails there, not here with no images
        patch = getattr(getattr(self.processor, "image_processor", None), "patch_size", 14)
        images, videos, _audios = self.dataset_cls._process_multi_modal_info(
            messages, image_patch_size=patch, config=self.data_config
        )
        return images, videos

    def _collapsed_ids(self, messages: list[dict]) -> list[int]:
        """Chat template → text → token ids with one placeholder per image, no image processing."""
        from verl.utils.tokenizer.chat_template import apply_chat_template
        from verl.utils.tokenizer.tokenizer import build_multimodal_processor_inputs, normalize_token_ids

        text = apply_chat_template(
            self.processor,
            messages,
            tokenize=False,
            add_generation_prompt=True,
            **(self._builder.chat_template_kwargs or {}),
        )
        out = build_multimodal_processor_inputs(
            self.processor, text=[text], mm_processor_kwargs=self._builder.mm_processor_kwargs or None
        )
        return normalize_token_ids(out["input_ids"])

    def fast_path_mismatch(self, student_messages: list[dict], student_prompt_ids: list[int]) -> str:
        """``""`` when the fast render of the student's own messages gives the student's prompt ids, else
        the reason it does not (a key of :data:`FALLBACK_REASONS`)."""
        ids = expand_media_placeholders(self._collapsed_ids(student_messages), student_prompt_ids, self._media)
        if ids is None:
            return "placeholders_unpaired"
        return "" if ids == list(student_prompt_ids) else "ids_differ"

    def fast_path_matches(self, student_messages: list[dict], student_prompt_ids: list[int]) -> bool:
        """True when the fast render of the student's own messages gives the student's prompt ids."""
        return not self.fast_path_mismatch(student_messages, student_prompt_ids)

    def render(
        self,
        messages: list[dict],
        *,
        student_prompt_ids: Optional[list[int]] = None,
        images: Optional[list] = None,
        videos: Optional[list] = None,
    ) -> tuple[list[int], Optional[list], Optional[list], bool]:
        """Prompt ids of ``messages``; ``student_prompt_ids`` enables the fast VL path."""
        if self.processor is not None and student_prompt_ids is not None:
            ids = expand_media_placeholders(self._collapsed_ids(messages), student_prompt_ids, self._media)
            if ids is not None:
                return ids, images, videos, True
        if self.processor is not None and images is None and videos is None:
            images, videos = self._multi_modal(messages)
        ids = self._builder.build_initial_tokens(messages, images=images, videos=videos)
        return list(ids), images, videos, False

    def _cut(self, hint: str, n_tokens: int) -> str:
        ids = self.tokenizer.encode(hint, add_special_tokens=False)
        return self.tokenizer.decode(ids[: max(0, n_tokens)], skip_special_tokens=False)

    def build(
        self,
        raw_prompt: list[dict],
        hint: str,
        template: Optional[str] = None,
        *,
        student_prompt_ids: Optional[list[int]] = None,
        images: Optional[list] = None,
        videos: Optional[list] = None,
        question: Optional[str] = None,
    ) -> TeacherPrompt:
        """Teacher prompt ids for one row; the hint is cut to fit, never raising on length.

        ``template`` overrides the builder's template for this row (SDPO's per-row block).
        ``student_prompt_ids`` (the ids the student was prompted with) turn on the fast VL path
        after :meth:`fast_path_matches` has checked it on this row; ``images``/``videos`` are
        the student's already processed media, used if the processor has to run. ``question`` (the
        row's raw question, ``extra_info.question``) is used by ``prompt_style="official"``.
        """
        template = self.template if template is None else template
        raw_prompt = list(raw_prompt)
        if student_prompt_ids is not None and self.processor is None:
            student_prompt_ids = None  # text models: the render is tokenization only
        reason = self.fast_path_mismatch(raw_prompt, student_prompt_ids) if student_prompt_ids is not None else ""
        if reason:
            # counted per row in rlsd_teacher_info (fast_path = 0) and per reason in self.fallbacks
            self.fallbacks[reason] += 1
            if self.fallbacks[reason] == 1:
                logger.warning(
                    "teacher prompt: rendering the student's messages without images did not reproduce the student's "
                    "prompt ids (%s: %s); such prompts run the image processor (metric teacher_fast_path_frac < 1)",
                    reason, FALLBACK_REASONS[reason],
                )
            student_prompt_ids = None
        kw = dict(student_prompt_ids=student_prompt_ids, images=images, videos=videos)
        hint_ids = self.tokenizer.encode(hint, add_special_tokens=False) if hint else []
        truncated = False
        if len(hint_ids) > self.max_hint_tokens:
            hint, truncated = self._cut(hint, self.max_hint_tokens), True
            hint_ids = hint_ids[: self.max_hint_tokens]
        def messages_for(hint: str) -> list[dict]:
            if self.prompt_style == "official" and template is self.template:
                return official_teacher_messages(raw_prompt, question, hint)
            return privileged_messages(raw_prompt, render_teacher_template(template, hint))

        ids, images, videos, fast = self.render(messages_for(hint), **kw)
        kw.update(images=images, videos=videos)
        overflow = len(ids) - self.prompt_budget
        if overflow > 0 and hint:
            # cut the hint by the measured overflow; re-tokenising the cut hint can shift its boundary by a
            # token, so a prompt still over budget drops the hint (counted as truncated, never raised)
            keep = max(0, len(hint_ids) - overflow)
            hint, hint_ids, truncated = self._cut(hint, keep), hint_ids[:keep], True
            ids, images, videos, fast = self.render(messages_for(hint), **kw)
            if len(ids) > self.prompt_budget and hint:
                hint, hint_ids = "", []
                ids, images, videos, fast = self.render(messages_for(hint), **kw)
        return TeacherPrompt(ids, truncated, len(hint_ids), images, videos, fast, reason)


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
