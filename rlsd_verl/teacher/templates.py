"""The teacher's privileged text: templates, their loading, and the released script's prompt.

Two ways of making the teacher prompt (``algorithm.rlsd.teacher_prompt``):

``paper`` (default)
    The student's own messages with a privileged block appended to its **last user message**
    (:data:`DEFAULT_TEACHER_TEMPLATE`, ``{hint}`` = the reference answer). The student's header,
    question and format instruction stay exactly as the student saw them, so ``Δ_t`` measures the
    reference answer and nothing else.
``official``
    The authors' released script (``teacher_hint_self_distill.jinja``, our notes §3.3): a single
    user message ``question + reference block + format sentence``, built from the raw question;
    the student's header and any system message are dropped
    (:func:`official_teacher_messages`). ``Δ_t`` then also carries the prompt difference.

Standard library only, so the config dataclass can validate templates anywhere.
"""

from __future__ import annotations

import copy
import os

__all__ = [
    "DEFAULT_SDPO_TEMPLATE",
    "DEFAULT_TEACHER_TEMPLATE",
    "OFFICIAL_FORMAT_SENTENCE",
    "OFFICIAL_TEACHER_TEMPLATE",
    "SDPO_FEEDBACK_BLOCK",
    "TEACHER_PROMPTS",
    "load_teacher_template",
    "official_teacher_messages",
    "render_teacher_template",
]

#: The privileged block of the teacher prompt, appended to the end of the student's **own last user
#: message**: the student's question and its format instruction stay exactly as the student saw
#: them, and ``{hint}`` is replaced by the reference answer. Wording from the authors' template
#: ``teacher_hint_self_distill.jinja`` (a commented-out box in the paper's LaTeX has the same text).
#: The released template also repeats the student's format instruction after this sentence; here
#: the student's own instruction, earlier in the same message, serves (``teacher_prompt=official``
#: reproduces the released prompt instead).
DEFAULT_TEACHER_TEMPLATE = (
    "\n\nHere is a reference solution:\n{hint}\n\n"
    "After understanding the reference solution, please try to solve this problem using your own approach below."
)

#: The format sentence the released teacher template ends with (the same words as the student's
#: ``rlsd`` format instruction for free-form questions, ``rlsd_verl.data.prompts.RLSD_FREE_FORM``).
OFFICIAL_FORMAT_SENTENCE = (
    "You FIRST think about the reasoning process as an internal monologue enclosed within "
    "<thought> </thought> tags. The final answer MUST be enclosed within <answer> </answer> tags."
)

#: The released ``teacher_hint_self_distill.jinja`` as a ``str`` template: ``{question}`` and ``{hint}``
#: (each stripped of surrounding whitespace, as Jinja's ``| trim``).
OFFICIAL_TEACHER_TEMPLATE = (
    "{question}\n\nHere is a reference solution:\n{hint}\n\n"
    "After understanding the reference solution, please try to solve this problem using your own approach below. "
    + OFFICIAL_FORMAT_SENTENCE
)

#: SDPO's teacher block (the RLSD authors' SDPO baseline, ``sdpo_teacher.jinja``): a successful
#: sibling rollout as the demonstration, then, when ``sdpo_feedback`` finds one, the shortest
#: unsuccessful sibling as feedback. ``{hint}`` is the demonstration; ``{feedback}`` is replaced by
#: :data:`SDPO_FEEDBACK_BLOCK` (or nothing).
DEFAULT_SDPO_TEMPLATE = (
    "\n\nCorrect solution:\n{hint}{feedback}\n\nCorrectly solve the original question."
)
SDPO_FEEDBACK_BLOCK = "\n\nThe following is feedback from your unsuccessful earlier attempt:\n{attempt}"

#: Accepted values of ``algorithm.rlsd.teacher_prompt``.
TEACHER_PROMPTS = ("paper", "official")

_HINT_PLACEHOLDER = "{hint}"
_PREFIX = "algorithm.rlsd"
_MEDIA = {"image": "<image>", "video": "<video>"}


def load_teacher_template(template: str, key: str = "teacher_template") -> str:
    """Resolve ``algorithm.rlsd.teacher_template`` to the template text.

    - A string containing ``{hint}`` is the template itself.
    - ``"@path/to/file"`` reads the file (``~`` expanded; relative to the working directory).
    - Otherwise, a string naming an existing file reads that file.

    File contents are used verbatim except for one final newline (a text file's terminator, not
    part of the prompt). The result must contain ``{hint}``.

    Raises:
        TypeError: ``template`` is not a string.
        FileNotFoundError: an ``@path`` that does not exist.
        ValueError: the resolved text has no ``{hint}`` placeholder.
    """
    if not isinstance(template, str):
        raise TypeError(f"{_PREFIX}.{key} must be a string, got {type(template).__name__}")
    source = "the template string"
    text = template
    path = None
    if template.startswith("@"):
        path = os.path.expanduser(template[1:])
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{_PREFIX}.{key}={template!r} names the file {path!r}, which does not exist; "
                "give an existing file after '@', or the template text itself (containing {hint})"
            )
    elif _HINT_PLACEHOLDER not in template and "\n" not in template and os.path.isfile(os.path.expanduser(template)):
        path = os.path.expanduser(template)
    if path is not None:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if text.endswith("\n"):
            text = text[:-1]
        source = f"the file {path!r}"
    if _HINT_PLACEHOLDER not in text:
        raise ValueError(
            f"{_PREFIX}.{key}: {source} has no '{{hint}}' placeholder, so the teacher would never see "
            "the privileged information; put '{hint}' where the reference answer goes (or pass '@path' to a file "
            "that contains it)"
        )
    return text


def render_teacher_template(template: str, hint: str) -> str:
    """Substitute ``hint`` for every ``{hint}`` in ``template`` (already resolved).

    Plain substitution, not ``str.format``: other braces (LaTeX ``\\boxed{}``, JSON) in the template
    or in the hint are kept literally.
    """
    if not isinstance(hint, str):
        raise TypeError(f"hint must be a string, got {type(hint).__name__}")
    return template.replace(_HINT_PLACEHOLDER, hint)


def _user_text(message: dict) -> str:
    """A user message's text with each media part written as its placeholder (``<image>``)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in _MEDIA:
                out.append(_MEDIA[kind])
            elif kind == "text":
                out.append(str(part.get("text", "")))
            else:
                raise TypeError(f"raw_prompt: unsupported content part {part!r} in a user message")
        return "".join(out)
    raise TypeError(f"raw_prompt: a user message's content must be a string or a list of parts, got {type(content)}")


def official_teacher_messages(raw_prompt: list[dict], question: str | None, hint: str) -> list[dict]:
    r"""The released script's teacher prompt (``teacher_prompt=official``), as chat messages.

    One user message whose text is ::

        question.strip() + "\n\nHere is a reference solution:\n" + hint.strip() + "\n\n"
        + "After understanding the reference solution, please try to solve this problem using your own "
        + "approach below. " + OFFICIAL_FORMAT_SENTENCE

    (:data:`OFFICIAL_TEACHER_TEMPLATE`, the authors' ``teacher_hint_self_distill.jinja`` rendered by
    ``construct_teacher_prompts``). System messages, the student's header and other turns are dropped.

    Args:
        raw_prompt: the student's chat messages (verl's ``raw_prompt``): string content, or a list of
            parts ``{"type": "text" | "image" | "video", ...}``. Its media parts are reused, in order.
        question: the raw question with one ``<image>`` (``<video>``) placeholder per media part, as
            our rows keep it in ``extra_info.question``. ``None``: the text of the student's last user
            message (media parts as placeholders), which then still holds the student's own format
            instruction before the reference block.
        hint: the privileged information (the reference answer).

    Returns:
        ``[{"role": "user", "content": ...}]``: a string without media; otherwise the text split at
        the placeholders with the student's media parts (deep copies) in their place, as the
        released ``_build_messages_from_prompt_text`` does. When ``question`` names no placeholder
        the media parts come first (the usual Qwen-VL layout).

    Raises:
        ValueError: ``raw_prompt`` has no user message, or ``question`` has a number of placeholders
            other than 0 or the number of media parts of that kind.
        TypeError: ``hint`` or ``question`` is not a string, or a content part is not understood.
    """
    if not isinstance(hint, str):
        raise TypeError(f"hint must be a string, got {type(hint).__name__}")
    users = [m for m in raw_prompt if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise ValueError("raw_prompt has no user message to build the official teacher prompt from")
    media_per_turn = [
        [copy.deepcopy(p) for p in m["content"] if isinstance(p, dict) and p.get("type") in _MEDIA]
        if isinstance(m.get("content"), list) else []
        for m in users
    ]
    media = [p for turn in media_per_turn for p in turn]
    if question is None:
        # earlier user turns' media have no placeholder in the last turn's text: they go first
        earlier = [p for turn in media_per_turn[:-1] for p in turn]
        question = "".join(_MEDIA[p["type"]] for p in earlier) + _user_text(users[-1])
    elif not isinstance(question, str):
        raise TypeError(f"question must be a string or None, got {type(question).__name__}")
    question = question.strip()
    suffix = OFFICIAL_TEACHER_TEMPLATE.split("{question}", 1)[1].replace(_HINT_PLACEHOLDER, hint.strip())
    if not media:
        return [{"role": "user", "content": question + suffix}]

    placeholders = {kind: question.count(tag) for kind, tag in _MEDIA.items()}
    if not any(placeholders.values()):
        return [{"role": "user", "content": media + [{"type": "text", "text": question + suffix}]}]
    for kind in _MEDIA:
        n = sum(p["type"] == kind for p in media)
        if placeholders[kind] != n:
            raise ValueError(
                f"the question has {placeholders[kind]} {_MEDIA[kind]} placeholder(s) but the student's prompt has "
                f"{n} {kind} part(s); give the raw question with one {_MEDIA[kind]} per {kind} (extra_info.question)"
            )
    queues = {kind: [p for p in media if p["type"] == kind] for kind in _MEDIA}
    parts: list[dict] = []
    rest = question
    while rest:
        hits = [(rest.find(tag), kind) for kind, tag in _MEDIA.items() if tag in rest]
        if not hits:
            parts.append({"type": "text", "text": rest})
            break
        at, kind = min(hits)
        if at:
            parts.append({"type": "text", "text": rest[:at]})
        parts.append(queues[kind].pop(0))
        rest = rest[at + len(_MEDIA[kind]):]
    if parts and parts[-1]["type"] == "text":
        parts[-1] = {"type": "text", "text": parts[-1]["text"] + suffix}
    else:
        parts.append({"type": "text", "text": suffix})
    return [{"role": "user", "content": parts}]
