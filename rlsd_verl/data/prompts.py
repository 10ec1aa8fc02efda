"""Student prompt formatting shared by all builders: options block and format instruction.

The user turn is ``question`` (the student-visible text, stored as ``extra_info.question``) followed by
a blank line and a format instruction chosen by ``--prompt-style``:

``rlsd`` (default)
    The RLSD paper's format (official ``unified.jinja``, data.md §7.1): reasoning inside
    ``<thought> </thought>``, final answer inside ``<answer> </answer>``; for multiple choice the answer
    must be the option letter. Used identically at train and eval time.
``geo3k``
    verl's geo3k instruction: ``<think> </think>`` reasoning and the final answer in ``\\boxed{}``
    (multiple choice: the option letter in ``\\boxed{}``).
``native``
    The benchmark's own short-answer suffix (MMMU's "Answer with the option's letter from the given
    choices directly." / "Answer the question using a single word or phrase."; ZeroBench's "Answer with
    only the final answer.").
``none``
    No instruction (the prompt is the bare question).

Options are rendered one per line as ``A. text`` under an ``Options:`` header; MathVision's letter-only
options (``['A','B','C','D','E']``, contents drawn in the image) are rendered as a single line
``Choices: A, B, C, D, E``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rlsd_verl.data.schema import MULTIPLE_CHOICE, join_prompt, option_letters

PROMPT_STYLES = ("rlsd", "geo3k", "native", "none")
DEFAULT_PROMPT_STYLE = "rlsd"

RLSD_FREE_FORM = (
    "You FIRST think about the reasoning process as an internal monologue enclosed within "
    "<thought> </thought> tags. The final answer MUST be enclosed within <answer> </answer> tags."
)
RLSD_MULTIPLE_CHOICE = (
    RLSD_FREE_FORM + " The content inside <answer> must be exactly the letter of the correct option "
    "(e.g., A, B, C, D)."
)
GEO3K_FREE_FORM = (
    "You FIRST think about the reasoning process as an internal monologue and then provide the final "
    "answer. The reasoning process MUST BE enclosed within <think> </think> tags. The final answer MUST BE "
    "put in \\boxed{}."
)
GEO3K_MULTIPLE_CHOICE = (
    "You FIRST think about the reasoning process as an internal monologue and then provide the final "
    "answer. The reasoning process MUST BE enclosed within <think> </think> tags. The final answer MUST BE "
    "the option letter put in \\boxed{}."
)
NATIVE_MULTIPLE_CHOICE = "Answer with the option's letter from the given choices directly."
NATIVE_FREE_FORM = "Answer the question using a single word or phrase."


def instruction_for(style: str, question_type: str, *, native_free_form: str = NATIVE_FREE_FORM,
                    native_multiple_choice: str = NATIVE_MULTIPLE_CHOICE) -> str:
    """The format instruction for ``style`` and ``question_type`` ("" for style ``none``)."""
    mc = question_type == MULTIPLE_CHOICE
    if style == "rlsd":
        return RLSD_MULTIPLE_CHOICE if mc else RLSD_FREE_FORM
    if style == "geo3k":
        return GEO3K_MULTIPLE_CHOICE if mc else GEO3K_FREE_FORM
    if style == "native":
        return native_multiple_choice if mc else native_free_form
    if style == "none":
        return ""
    raise ValueError(f"unknown prompt style {style!r}; choose one of {PROMPT_STYLES}")


def is_letter_only(options: Sequence[str]) -> bool:
    """True for options that are just their own letters (MathVision: the contents are in the image)."""
    return bool(options) and [o.strip() for o in options] == option_letters(len(options))


def options_block(options: Sequence[str]) -> str:
    """``Options:\\nA. x\\nB. y`` (or ``Choices: A, B, C, D, E`` for letter-only options)."""
    if not options:
        return ""
    letters = option_letters(len(options))
    if is_letter_only(options):
        return "Choices: " + ", ".join(letters)
    return "Options:\n" + "\n".join(f"{letter}. {opt}" for letter, opt in zip(letters, options))


def question_with_options(question: str, options: Sequence[str]) -> str:
    block = options_block(options)
    return f"{question}\n{block}" if block else question


def user_content(question: str, style: str, question_type: str, **native) -> str:
    """Full user-turn text: the student-visible question then the instruction for ``style``."""
    return join_prompt(question, instruction_for(style, question_type, **native))
