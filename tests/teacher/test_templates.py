"""Teacher templates: loading, rendering, and the released script's prompt (``teacher_prompt=official``)."""

import pytest

from rlsd_verl.algos.config import RLSDConfig
from rlsd_verl.teacher.templates import (
    DEFAULT_TEACHER_TEMPLATE,
    OFFICIAL_FORMAT_SENTENCE,
    load_teacher_template,
    official_teacher_messages,
    render_teacher_template,
)


def test_default_template_is_the_authors_wording():
    text = render_teacher_template(RLSDConfig().load_teacher_template(), "42")
    assert text == (
        "\n\nHere is a reference solution:\n42\n\nAfter understanding the reference solution, please try to "
        "solve this problem using your own approach below."
    )
    assert RLSDConfig().load_teacher_template() == DEFAULT_TEACHER_TEMPLATE


def test_template_from_at_path_and_plain_path(tmp_path):
    f = tmp_path / "teacher.txt"
    f.write_text("\n\nReference: {hint}\nNow solve it.\n", encoding="utf-8")
    assert load_teacher_template(f"@{f}") == "\n\nReference: {hint}\nNow solve it."
    assert load_teacher_template(str(f)) == "\n\nReference: {hint}\nNow solve it."
    assert RLSDConfig(teacher_template=f"@{f}").load_teacher_template().startswith("\n\nReference:")


def test_template_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="algorithm.rlsd.teacher_template"):
        load_teacher_template(f"@{tmp_path / 'missing.txt'}")
    no_hint = tmp_path / "no_hint.txt"
    no_hint.write_text("nothing to see", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\{hint\}"):
        RLSDConfig(teacher_template=f"@{no_hint}")
    with pytest.raises(TypeError, match="algorithm.rlsd.teacher_template"):
        load_teacher_template(42)


def test_render_keeps_other_braces_literal():
    template = "Answer: $\\boxed{{hint}}$ and {not_a_field} {hint}"
    assert render_teacher_template(template, "x^{2}") == "Answer: $\\boxed{x^{2}}$ and {not_a_field} x^{2}"




# -- teacher_prompt=official ---------------------------------------------------------------------

RELEASED_SUFFIX = (
    "\n\nHere is a reference solution:\n7\n\nAfter understanding the reference solution, please try to solve this "
    "problem using your own approach below. You FIRST think about the reasoning process as an internal monologue "
    "enclosed within <thought> </thought> tags. The final answer MUST be enclosed within <answer> </answer> tags."
)


def test_official_text_only_is_the_released_jinja_rendered():
    raw = [
        {"role": "system", "content": "You are an intelligent assistant."},
        {"role": "user", "content": "What is 3 + 4?\n\n" + OFFICIAL_FORMAT_SENTENCE},
    ]
    out = official_teacher_messages(raw, "  What is 3 + 4?\n", "  7 \n")
    # one user message: the raw question (trimmed), the reference block, the format sentence; no system turn
    assert out == [{"role": "user", "content": "What is 3 + 4?" + RELEASED_SUFFIX}]
    assert raw[0]["content"] == "You are an intelligent assistant."  # the input is not modified


def test_official_format_sentence_is_the_students_rlsd_instruction():
    from rlsd_verl.data.prompts import RLSD_FREE_FORM

    assert OFFICIAL_FORMAT_SENTENCE == RLSD_FREE_FORM


def test_official_images_go_where_the_question_puts_them():
    img_a, img_b = {"type": "image", "image": "a.png"}, {"type": "image", "image": "b.png"}
    raw = [{"role": "user", "content": [img_a, {"type": "text", "text": "Compare "}, img_b,
                                        {"type": "text", "text": " please.\n\nFORMAT"}]}]
    out = official_teacher_messages(raw, "<image>Compare <image> please.", "7")
    assert out == [{"role": "user", "content": [
        img_a, {"type": "text", "text": "Compare "}, img_b, {"type": "text", "text": " please." + RELEASED_SUFFIX},
    ]}]
    assert out[0]["content"][0] is not img_a  # copies, not the student's parts


def test_official_question_without_placeholders_puts_images_first():
    img = {"type": "image", "image": "a.png"}
    raw = [{"role": "user", "content": [img, {"type": "text", "text": "Q?"}]}]
    out = official_teacher_messages(raw, "Q?", "7")
    assert out == [{"role": "user", "content": [img, {"type": "text", "text": "Q?" + RELEASED_SUFFIX}]}]


def test_official_without_question_uses_the_last_user_turn():
    img = {"type": "image", "image": "a.png"}
    raw = [{"role": "user", "content": [img, {"type": "text", "text": "Q? Answer in tags."}]}]
    out = official_teacher_messages(raw, None, "7")
    assert out == [{"role": "user", "content": [img, {"type": "text", "text": "Q? Answer in tags." + RELEASED_SUFFIX}]}]


def test_official_hint_with_a_placeholder_string_is_text():
    img = {"type": "image", "image": "a.png"}
    raw = [{"role": "user", "content": [img, {"type": "text", "text": "Q?"}]}]
    out = official_teacher_messages(raw, "<image>Q?", "see <image>")
    assert [p["type"] for p in out[0]["content"]] == ["image", "text"]
    assert "see <image>" in out[0]["content"][1]["text"]


def test_official_errors_name_the_problem():
    img = {"type": "image", "image": "a.png"}
    raw = [{"role": "user", "content": [img, {"type": "text", "text": "Q?"}]}]
    with pytest.raises(ValueError, match="2 <image> placeholder.*1 image part"):
        official_teacher_messages(raw, "<image><image>Q?", "7")
    with pytest.raises(ValueError, match="no user message"):
        official_teacher_messages([{"role": "system", "content": "x"}], "Q?", "7")
    with pytest.raises(TypeError, match="hint"):
        official_teacher_messages(raw, "Q?", 7)
