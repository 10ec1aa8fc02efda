"""Teacher inputs: privileged messages, prompt rendering, hint truncation, positions."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from rlsd_verl.teacher.templates import DEFAULT_TEACHER_TEMPLATE
from rlsd_verl.teacher.inputs import TeacherPromptBuilder, lookup_hint, privileged_messages, teacher_position_ids


def test_lookup_hint_paths_lists_and_errors():
    row = {"reward_model": {"ground_truth": "7"}, "extra_info": {"gold": ["1/2", "0.5"], "empty": ""}}
    assert lookup_hint(row, "reward_model.ground_truth") == "7"
    assert lookup_hint(row, "extra_info.gold") == "1/2 or 0.5"
    assert lookup_hint(row, "extra_info.empty") == ""
    with pytest.raises(KeyError, match="extra_info.reference_solution"):
        lookup_hint(row, "extra_info.reference_solution")


def test_privileged_messages_appends_to_last_user_turn_only():
    text = [{"role": "system", "content": "sys"}, {"role": "user", "content": "Q?"}]
    out = privileged_messages(text, " HINT")
    assert out[1]["content"] == "Q? HINT" and text[1]["content"] == "Q?"  # the input is not mutated
    assert out[0] == text[0]
    mm = [{"role": "user", "content": [{"type": "image", "image": "img"}, {"type": "text", "text": "Q?"}]}]
    out = privileged_messages(mm, " HINT")
    assert [p["type"] for p in out[0]["content"]] == ["image", "text", "text"]
    assert out[0]["content"][-1]["text"] == " HINT"
    assert privileged_messages(mm, "") == mm
    with pytest.raises(ValueError, match="no user message"):
        privileged_messages([{"role": "system", "content": "x"}], "h")


def _dataset(model_dir, parquet):
    from verl.utils import hf_processor, hf_tokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    tok, proc = hf_tokenizer(model_dir), hf_processor(model_dir)
    cfg = OmegaConf.create({"prompt_key": "prompt", "image_key": "images", "max_prompt_length": 512,
                            "filter_overlong_prompts": False, "return_raw_chat": True})
    return tok, proc, cfg, RLHFDataset(data_files=[parquet], tokenizer=tok, config=cfg, processor=proc)


def _builder(tok, proc, cfg, model_type, template=DEFAULT_TEACHER_TEMPLATE, max_hint=64, budget=512):
    return TeacherPromptBuilder(tok, proc, cfg, model_type, template, max_hint, budget)


@pytest.mark.parametrize("kind,model", [("text", "text"), ("vl", "qwen2_5_vl"), ("vl", "qwen3_vl")])
def test_teacher_prompt_adds_exactly_the_privileged_block(tiny_models, synthetic, kind, model):
    tok, proc, cfg, ds = _dataset(tiny_models[model], synthetic[kind][0])
    row = ds[0]
    model_type = {"text": "qwen2", "qwen2_5_vl": "qwen2_5_vl", "qwen3_vl": "qwen3_vl"}[model]
    student = _builder(tok, proc, cfg, model_type, template="{hint}").build(row["raw_prompt"], "")
    teacher = _builder(tok, proc, cfg, model_type).build(row["raw_prompt"], "3 + 4 = 7")
    assert not teacher.hint_truncated
    s, t = student.prompt_ids, teacher.prompt_ids
    assert len(t) > len(s)
    # the teacher prompt is the student's with text inserted before the end of the user turn
    head = 0
    while s[head] == t[head]:
        head += 1
    tail = len(s) - head
    assert t[-tail:] == s[-tail:]
    inserted = tok.decode(t[head : len(t) - tail])
    assert "Here is a reference solution:" in inserted and "3 + 4 = 7" in inserted
    if proc is not None:  # the images expand identically
        pad = tok.convert_tokens_to_ids("<|image_pad|>")
        assert s.count(pad) == t.count(pad) > 0
        assert len(student.images) == len(teacher.images) == 1


def test_hint_truncation_is_counted_and_never_raises(tiny_models, synthetic):
    tok, proc, cfg, ds = _dataset(tiny_models["text"], synthetic["text"][0])
    raw = ds[0]["raw_prompt"]
    long_hint = " ".join(["12345"] * 200)
    full = _builder(tok, proc, cfg, "qwen2", max_hint=10_000, budget=10_000).build(raw, long_hint)
    cut = _builder(tok, proc, cfg, "qwen2", max_hint=8).build(raw, long_hint)
    assert not full.hint_truncated and cut.hint_truncated and cut.hint_tokens == 8
    assert len(cut.prompt_ids) < len(full.prompt_ids)
    # a budget below the student prompt itself: the hint is dropped, the step goes on
    student = _builder(tok, proc, cfg, "qwen2", template="{hint}").build(raw, "")
    tight = _builder(tok, proc, cfg, "qwen2", budget=len(student.prompt_ids) - 1).build(raw, "7")
    assert tight.hint_truncated and tight.hint_tokens == 0
    # a budget that fits part of the hint keeps that part
    part = _builder(tok, proc, cfg, "qwen2", max_hint=10_000, budget=len(full.prompt_ids) - 50).build(raw, long_hint)
    assert part.hint_truncated and 0 < part.hint_tokens < full.hint_tokens
    assert len(part.prompt_ids) <= len(full.prompt_ids) - 50


def test_teacher_position_ids_text_and_mrope(tiny_models, synthetic):
    ids = torch.arange(10)
    assert torch.equal(teacher_position_ids(None, ids, {}).reshape(-1), torch.arange(10))

    tok, proc, cfg, ds = _dataset(tiny_models["qwen2_5_vl"], synthetic["vl"][0])
    built = _builder(tok, proc, cfg, "qwen2_5_vl").build(ds[0]["raw_prompt"], "7")
    inputs = proc.image_processor(images=built.images, return_tensors="pt")
    response = torch.tensor([10, 11, 12])
    seq = torch.cat([torch.tensor(built.prompt_ids), response])
    pos = teacher_position_ids(proc, seq, {"image_grid_thw": inputs["image_grid_thw"]})
    assert pos.shape == (4, seq.numel())
    assert torch.equal(pos[0], torch.arange(seq.numel()))
    pad = tok.convert_tokens_to_ids("<|image_pad|>")
    img = seq == pad
    # image tokens share one temporal position and vary in h/w; text after them continues
    assert pos[1][img].unique().numel() == 1 and pos[2][img].unique().numel() > 1
    assert torch.all(pos[1][-3:].diff() == 1)
    assert pos[1][-1] < seq.numel() - 1  # M-RoPE compresses the image span


def test_expand_media_placeholders_copies_the_students_runs():
    from rlsd_verl.teacher.inputs import expand_media_placeholders

    IMG, VID = 9, 8
    student = [1, IMG, IMG, IMG, 2, VID, VID, 3, IMG, 4]
    collapsed = [1, IMG, 2, 7, 7, VID, 3, IMG, 4]  # two extra text tokens in between
    assert expand_media_placeholders(collapsed, student, (IMG, VID)) == [1, IMG, IMG, IMG, 2, 7, 7, VID, VID, 3, IMG, 4]
    assert expand_media_placeholders([1, IMG, 2], student, (IMG, VID)) is None  # fewer placeholders than runs
    assert expand_media_placeholders([1, VID, 2, IMG, 3, IMG], student, (IMG, VID)) is None  # wrong kind order
    assert expand_media_placeholders([5, 6], [5, 6], ()) == [5, 6]


@pytest.mark.parametrize("model,model_type", [("qwen2_5_vl", "qwen2_5_vl"), ("qwen3_vl", "qwen3_vl")])
def test_fast_vl_render_equals_the_processor_and_touches_no_image(tiny_models, synthetic, model, model_type, monkeypatch):
    tok, proc, cfg, ds = _dataset(tiny_models[model], synthetic["vl"][0])
    for i in range(4):
        raw = ds[i]["raw_prompt"]
        student = _builder(tok, proc, cfg, model_type, template="{hint}").build(raw, "")
        slow = _builder(tok, proc, cfg, model_type).build(raw, "3 + 4 = 7")
        assert not slow.fast_path
        builder = _builder(tok, proc, cfg, model_type)
        # the fast path must not decode, resize or process any image
        monkeypatch.setattr(type(builder), "_multi_modal", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded")))
        monkeypatch.setattr(proc, "image_processor", None)
        fast = builder.build(raw, "3 + 4 = 7", student_prompt_ids=student.prompt_ids)
        monkeypatch.undo()
        assert fast.fast_path
        assert fast.prompt_ids == slow.prompt_ids


def test_fast_path_refuses_a_prompt_it_cannot_reproduce(tiny_models, synthetic, caplog):
    tok, proc, cfg, ds = _dataset(tiny_models["qwen2_5_vl"], synthetic["vl"][0])
    raw = ds[0]["raw_prompt"]
    student = _builder(tok, proc, cfg, "qwen2_5_vl", template="{hint}").build(raw, "").prompt_ids
    builder = _builder(tok, proc, cfg, "qwen2_5_vl")
    assert builder.fast_path_matches(raw, student)
    tampered = student[:-1] + [student[-1] + 1]  # the student's ids are not what this template renders
    assert not builder.fast_path_matches(raw, tampered)
    with caplog.at_level("WARNING", logger="rlsd_verl.teacher.inputs"):
        built = builder.build(raw, "7", student_prompt_ids=tampered)
        builder.build(raw, "7", student_prompt_ids=tampered)
    assert not built.fast_path  # fell back to the processor, still correct
    assert sum("did not reproduce the student's prompt ids" in r.message for r in caplog.records) == 1  # logged once
    assert built.prompt_ids == builder.build(raw, "7").prompt_ids


def test_official_prompt_style_renders_the_released_message_on_both_paths(tiny_models, synthetic):
    tok, proc, cfg, ds = _dataset(tiny_models["qwen2_5_vl"], synthetic["vl"][0])
    row = ds[0]
    raw, question = row["raw_prompt"], row["extra_info"]["question"]
    student = _builder(tok, proc, cfg, "qwen2_5_vl", template="{hint}").build(raw, "").prompt_ids
    builder = TeacherPromptBuilder(tok, proc, cfg, "qwen2_5_vl", DEFAULT_TEACHER_TEMPLATE, 64, 512, prompt_style="official")
    slow = builder.build(raw, "7", question=question)
    fast = builder.build(raw, "7", question=question, student_prompt_ids=student)
    assert fast.fast_path and not slow.fast_path and fast.prompt_ids == slow.prompt_ids
    text = tok.decode(fast.prompt_ids)
    assert "Here is a reference solution:\n7" in text and "After understanding the reference solution" in text
    pad = tok.convert_tokens_to_ids("<|image_pad|>")
    assert fast.prompt_ids.count(pad) == student.count(pad) > 0


def _multi_image_multi_turn(raw):
    """Two user turns with three images (one repeated) around an assistant turn, from a one-image row."""
    parts = raw[-1]["content"]
    image = next(p["image"] for p in parts if p["type"] == "image")
    other = image.transpose(0)  # a different picture of the same size
    return [
        {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "What is shown?"}]},
        {"role": "assistant", "content": "Two numbers."},
        {"role": "user", "content": [{"type": "image", "image": other}, {"type": "text", "text": "And now?"},
                                     {"type": "image", "image": image}]},
    ]


@pytest.mark.parametrize("model,model_type", [("qwen2_5_vl", "qwen2_5_vl"), ("qwen3_vl", "qwen3_vl")])
def test_multi_image_multi_turn_rows_fast_path_equals_the_processor(tiny_models, synthetic, model, model_type, monkeypatch):
    tok, proc, cfg, ds = _dataset(tiny_models[model], synthetic["vl"][0])
    raw = _multi_image_multi_turn(ds[0]["raw_prompt"])
    student = _builder(tok, proc, cfg, model_type, template="{hint}").build(raw, "")
    slow = _builder(tok, proc, cfg, model_type).build(raw, "3 + 4 = 7")
    assert not slow.fast_path and len(slow.images) == 3
    pad = tok.convert_tokens_to_ids("<|image_pad|>")
    runs = sum(1 for a, b in zip([None] + slow.prompt_ids, slow.prompt_ids) if b == pad and a != pad)
    assert runs == 3 and slow.prompt_ids.count(pad) == student.prompt_ids.count(pad)
    # the hint lands in the last user turn, after its last image
    text = tok.decode(slow.prompt_ids)
    assert text.index("And now?") < text.index("3 + 4 = 7") and text.index("Two numbers.") < text.index("3 + 4 = 7")
    builder = _builder(tok, proc, cfg, model_type)
    monkeypatch.setattr(type(builder), "_multi_modal", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded")))
    monkeypatch.setattr(proc, "image_processor", None)
    fast = builder.build(raw, "3 + 4 = 7", student_prompt_ids=student.prompt_ids)
    monkeypatch.undo()
    assert fast.fast_path and fast.prompt_ids == slow.prompt_ids


def test_an_over_budget_prompt_renders_at_most_three_times(tiny_models, synthetic, monkeypatch):
    tok, proc, cfg, ds = _dataset(tiny_models["text"], synthetic["text"][0])
    raw = ds[0]["raw_prompt"]
    long_hint = " ".join(["12345"] * 200)
    full = _builder(tok, proc, cfg, "qwen2", max_hint=10_000, budget=10_000).build(raw, long_hint)
    builder = _builder(tok, proc, cfg, "qwen2", max_hint=10_000, budget=len(full.prompt_ids) - 50)
    calls = []
    real = TeacherPromptBuilder.render
    monkeypatch.setattr(TeacherPromptBuilder, "render", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    part = builder.build(raw, long_hint)
    assert len(calls) <= 3 and len(part.prompt_ids) <= builder.prompt_budget
    calls.clear()
    builder.build(raw, "7")  # within budget: one render
    assert len(calls) == 1


def _video_row(raw):
    """One user turn with a four-frame video (frames built from the row's image), as verl's dataset writes it."""
    image = next(p["image"] for p in raw[-1]["content"] if p["type"] == "image")
    frames = [image, image.transpose(0), image, image.transpose(1)]
    return [{"role": "user", "content": [{"type": "video", "video": frames}, {"type": "text", "text": "What changes?"}]}]


def _runs(ids, token):
    return sum(1 for a, b in zip([None] + ids, ids) if b == token and a != token)


def test_video_row_fast_path_equals_the_processor_on_qwen2_5_vl(tiny_models, synthetic, monkeypatch):
    tok, proc, cfg, ds = _dataset(tiny_models["qwen2_5_vl"], synthetic["vl"][0])
    raw = _video_row(ds[0]["raw_prompt"])
    student = _builder(tok, proc, cfg, "qwen2_5_vl", template="{hint}").build(raw, "")
    slow = _builder(tok, proc, cfg, "qwen2_5_vl").build(raw, "3 + 4 = 7")
    vid = tok.convert_tokens_to_ids("<|video_pad|>")
    assert not slow.fast_path and len(slow.videos) == 1 and not slow.images
    assert _runs(slow.prompt_ids, vid) == 1 and slow.prompt_ids.count(vid) == student.prompt_ids.count(vid) > 1
    text = tok.decode(slow.prompt_ids)
    assert text.index("<|video_pad|>") < text.index("What changes?") < text.index("3 + 4 = 7")
    builder = _builder(tok, proc, cfg, "qwen2_5_vl")
    # the fast path decodes no frame and runs no video processor
    monkeypatch.setattr(type(builder), "_multi_modal", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded")))
    monkeypatch.setattr(proc, "video_processor", None)
    fast = builder.build(raw, "3 + 4 = 7", student_prompt_ids=student.prompt_ids)
    monkeypatch.undo()
    assert fast.fast_path and fast.fallback_reason == "" and not builder.fallbacks
    assert fast.prompt_ids == slow.prompt_ids


def test_video_row_takes_the_counted_fallback_on_qwen3_vl(tiny_models, synthetic, caplog):
    """Qwen3-VL renders a video as timestamped frame groups: one template placeholder, several runs."""
    tok, proc, cfg, ds = _dataset(tiny_models["qwen3_vl"], synthetic["vl"][0])
    raw = _video_row(ds[0]["raw_prompt"])
    student = _builder(tok, proc, cfg, "qwen3_vl", template="{hint}").build(raw, "")
    vid = tok.convert_tokens_to_ids("<|video_pad|>")
    assert _runs(student.prompt_ids, vid) > 1 and "seconds>" in tok.decode(student.prompt_ids)
    slow = _builder(tok, proc, cfg, "qwen3_vl").build(raw, "3 + 4 = 7")
    builder = _builder(tok, proc, cfg, "qwen3_vl")
    assert builder.fast_path_mismatch(raw, student.prompt_ids) == "placeholders_unpaired"
    with caplog.at_level("WARNING", logger="rlsd_verl.teacher.inputs"):
        # as the agent loop calls it: the student's ids and its already processed video
        built = builder.build(raw, "3 + 4 = 7", student_prompt_ids=student.prompt_ids, videos=student.videos)
        again = builder.build(raw, "3 + 4 = 7", student_prompt_ids=student.prompt_ids, videos=student.videos)
    assert not built.fast_path and built.fallback_reason == "placeholders_unpaired"
    assert builder.fallbacks == {"placeholders_unpaired": 2}
    assert sum("placeholders_unpaired" in r.message for r in caplog.records) == 1  # logged once per reason
    assert built.prompt_ids == again.prompt_ids == slow.prompt_ids
    assert built.prompt_ids.count(vid) == student.prompt_ids.count(vid)


@pytest.mark.parametrize("model,model_type", [("qwen2_5_vl", "qwen2_5_vl"), ("qwen3_vl", "qwen3_vl")])
def test_video_row_teacher_positions_continue_the_students(tiny_models, synthetic, model, model_type):
    """The hint follows the video: every position up to it is the student's, the video spans several frames."""
    tok, proc, cfg, ds = _dataset(tiny_models[model], synthetic["vl"][0])
    raw = _video_row(ds[0]["raw_prompt"])
    student = _builder(tok, proc, cfg, model_type, template="{hint}").build(raw, "")
    teacher = _builder(tok, proc, cfg, model_type).build(raw, "3 + 4 = 7")
    from verl.utils.tokenizer.chat_template import apply_chat_template
    from verl.utils.tokenizer.tokenizer import build_multimodal_processor_inputs

    text = apply_chat_template(proc, raw, tokenize=False, add_generation_prompt=True)
    mm = dict(build_multimodal_processor_inputs(proc, text=[text], videos=student.videos))
    assert mm["input_ids"][0].tolist() == student.prompt_ids  # the student's mm inputs describe its video
    s_pos = teacher_position_ids(proc, torch.tensor(student.prompt_ids), mm)
    t_pos = teacher_position_ids(proc, torch.tensor(teacher.prompt_ids), mm)
    s, t = student.prompt_ids, teacher.prompt_ids
    head = next(i for i, (a, b) in enumerate(zip(s, t)) if a != b)
    vid = torch.tensor(t) == tok.convert_tokens_to_ids("<|video_pad|>")
    assert vid[:head].sum() == vid.sum() > 0  # the video lies before the hint
    assert torch.equal(t_pos[:, :head], s_pos[:, :head])
    assert t_pos[1][vid].unique().numel() > 1  # the frames get distinct temporal positions
    assert torch.all(t_pos[1:, head:].diff(dim=1) == 1)  # text after the video advances by one per token
