"""Tiny random Qwen2 / Qwen2.5-VL / Qwen3-VL checkpoints: loading, generation, processors, verl loaders."""

from __future__ import annotations

import json
import os

import pytest
import torch
from PIL import Image

from rlsd_verl.assets import tiny_models as tm
from rlsd_verl.assets.tokenizer import CHAT_TEMPLATE, special_token_ids

VL_KINDS = ("qwen2_5_vl", "qwen3_vl")


def _image(colour=(200, 30, 30)):
    img = Image.new("RGB", (56, 56), (255, 255, 255))
    img.paste(Image.new("RGB", (20, 20), colour), (10, 10))
    return img


def test_text_model_loads_and_generates(tiny_models):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_models["text"]
    model = AutoModelForCausalLM.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    cfg = model.config
    assert type(model).__name__ == "Qwen2ForCausalLM" and model.dtype == torch.float32
    assert (cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers) == (64, 128, 2)
    assert (cfg.num_attention_heads, cfg.num_key_value_heads) == (2, 1)  # head_dim 32: vLLM CPU attention's smallest
    assert cfg.vocab_size == len(tok) and cfg.tie_word_embeddings
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert (cfg.eos_token_id, cfg.pad_token_id) == (tok.eos_token_id, tok.pad_token_id)
    assert model.generation_config.eos_token_id == [tok.eos_token_id, tok.pad_token_id]

    enc = tok.apply_chat_template(
        [{"role": "user", "content": "What is 3 + 4?"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    n_prompt = enc["input_ids"].shape[1]
    torch.manual_seed(0)
    out = model.generate(**enc, max_new_tokens=8, do_sample=True, min_new_tokens=8)
    assert out.shape == (1, n_prompt + 8)
    assert torch.equal(out[0, :n_prompt], enc["input_ids"][0])
    assert int(out.max()) < len(tok)


@pytest.mark.parametrize("kind", VL_KINDS)
def test_vl_model_processor_forward_generate(tiny_models, kind):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = tiny_models[kind]
    processor = AutoProcessor.from_pretrained(path)
    model = AutoModelForImageTextToText.from_pretrained(path)
    cfg = model.config
    expected_cls = {"qwen2_5_vl": "Qwen2_5_VL", "qwen3_vl": "Qwen3VL"}[kind]
    assert type(processor).__name__ == f"{expected_cls}Processor"
    assert type(model).__name__ == f"{expected_cls}ForConditionalGeneration"
    assert type(processor.image_processor).__name__ == "Qwen2VLImageProcessor"
    assert type(processor.video_processor).__name__.endswith("VideoProcessor")
    assert processor.chat_template == CHAT_TEMPLATE

    # Token ids in the config match the tokenizer (and the processor).
    ids = special_token_ids(processor.tokenizer)
    assert cfg.image_token_id == ids["<|image_pad|>"] == processor.image_token_id
    assert cfg.video_token_id == ids["<|video_pad|>"] == processor.video_token_id
    assert cfg.vision_start_token_id == ids["<|vision_start|>"]
    assert cfg.vision_end_token_id == ids["<|vision_end|>"]
    text_cfg = cfg.text_config
    assert (text_cfg.eos_token_id, text_cfg.pad_token_id) == (ids["<|im_end|>"], ids["<|endoftext|>"])
    assert text_cfg.vocab_size == len(processor.tokenizer)
    head_dim = getattr(text_cfg, "head_dim", None) or text_cfg.hidden_size // text_cfg.num_attention_heads
    assert sum(text_cfg.rope_parameters["mrope_section"]) == head_dim // 2
    assert cfg.vision_config.patch_size == processor.image_processor.patch_size == {"qwen2_5_vl": 14, "qwen3_vl": 16}[kind]
    if kind == "qwen3_vl":
        assert list(cfg.vision_config.deepstack_visual_indexes) == [0]

    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What colour is the square?"}]}]
    prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    assert prompt.count("<|image_pad|>") == 1 and prompt.endswith("<|im_start|>assistant\n")
    inputs = processor(text=[prompt], images=[_image()], return_tensors="pt")
    grid = inputs["image_grid_thw"]
    merge = processor.image_processor.merge_size
    assert grid.tolist() == [[1, 4, 4]]  # 16 patches
    assert inputs["pixel_values"].shape[0] == 16
    n_image_tokens = int((inputs["input_ids"] == cfg.image_token_id).sum())
    assert n_image_tokens == int(grid.prod()) // merge**2 == 4

    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape == (1, inputs["input_ids"].shape[1], text_cfg.vocab_size)
    assert torch.isfinite(logits).all()
    # The image reaches the logits: a different image changes them.
    other = processor(text=[prompt], images=[_image((20, 20, 220))], return_tensors="pt")
    with torch.no_grad():
        assert not torch.allclose(model(**other).logits, logits)

    out = model.generate(**inputs, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert out.shape == (1, inputs["input_ids"].shape[1] + 4)


@pytest.mark.parametrize("kind", VL_KINDS)
def test_verl_hf_processor_binds_rope_index(tiny_models, kind):
    from verl.utils import hf_processor

    processor = hf_processor(tiny_models[kind])
    assert processor is not None and hasattr(processor, "get_rope_index")
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[prompt], images=[_image()], return_tensors="pt")
    pos, _ = processor.get_rope_index(
        input_ids=inputs["input_ids"],
        attention_mask=inputs["attention_mask"],
        image_grid_thw=inputs["image_grid_thw"],
        mm_token_type_ids=inputs["mm_token_type_ids"],
    )
    seq = inputs["input_ids"].shape[1]
    assert pos.shape == (3, 1, seq)
    img = (inputs["input_ids"][0] == processor.image_token_id).nonzero().flatten()
    # M-RoPE: the 2x2 merged image tokens share one temporal position and span a 2x2 (h, w) grid.
    assert pos[0, 0, img].unique().numel() == 1
    assert sorted(zip(pos[1, 0, img].tolist(), pos[2, 0, img].tolist())) == sorted(
        (pos[1, 0, img[0]].item() + i, pos[2, 0, img[0]].item() + j) for i in range(2) for j in range(2)
    )


def test_verl_hf_processor_is_none_for_text_and_hf_model_config_loads(tiny_models):
    from verl.utils import hf_processor
    from verl.workers.config import HFModelConfig

    assert hf_processor(tiny_models["text"]) is None
    for kind, path in tiny_models.items():
        mc = HFModelConfig(path=path, override_config={"attn_implementation": "sdpa"})
        assert (mc.processor is None) == (kind == "text")
        assert len(mc.architectures) == 1
        assert mc.hf_config.eos_token_id == mc.tokenizer.eos_token_id
        assert mc.share_embeddings_and_output_weights


def _weights(path):
    from safetensors.torch import load_file

    return load_file(os.path.join(path, "model.safetensors"))


@pytest.mark.parametrize("kind", tm.KINDS)
def test_same_seed_same_files_other_seed_other_weights(tmp_path, tiny_models, kind):
    builder = tm.BUILDERS[kind]
    again = builder(tmp_path / "again", seed=0)
    other = builder(tmp_path / "other", seed=1)
    first = tiny_models[kind]
    files = sorted(f for f in os.listdir(first) if f != tm.MARKER)
    assert files == sorted(f for f in os.listdir(again) if f != tm.MARKER)
    for name in files:  # byte-identical: weights, configs, tokenizer, processor
        with open(os.path.join(first, name), "rb") as a, open(os.path.join(again, name), "rb") as b:
            assert a.read() == b.read(), name
    w0, w1 = _weights(first), _weights(other)
    assert w0.keys() == w1.keys()
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)


def test_marker_cache_and_guards(tmp_path):
    path = tm.build_tiny_text_model(tmp_path / "m", seed=3)
    marker = tm.read_marker(path)
    assert marker["kind"] == "text" and marker["seed"] == 3 and marker["asset_version"] == tm.ASSET_VERSION
    assert set(marker["files"]) == set(os.listdir(path))
    weights = os.path.join(path, "model.safetensors")
    mtime = os.stat(weights).st_mtime_ns
    assert tm.build_tiny_text_model(tmp_path / "m", seed=3) == path
    assert os.stat(weights).st_mtime_ns == mtime, "a complete asset must be reused, not rebuilt"
    # A marker for another seed is stale: the folder is replaced by the requested build.
    tm.build_tiny_text_model(path, seed=4)
    assert tm.read_marker(path)["seed"] == 4
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")], "temporary folders must be cleaned up"
    # A non-empty folder that is not ours is never overwritten.
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        tm.build_tiny_qwen2_5_vl(foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    # An empty folder is fine; so is a file path error.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert tm.read_marker(tm.build_tiny_qwen3_vl(empty)) is not None
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        tm.build_tiny_text_model(tmp_path / "afile")
    with pytest.raises(ValueError, match="seed"):
        tm.build_tiny_text_model(tmp_path / "s", seed=-1)


def test_failed_build_leaves_nothing(tmp_path, monkeypatch):
    def boom(tmp):
        with open(os.path.join(tmp, "partial.bin"), "wb") as f:
            f.write(b"x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        tm._ensure_asset(tmp_path / "x", "text", 0, boom)
    assert os.listdir(tmp_path) == []


def test_build_all_layout(tiny_models):
    assert set(tiny_models) == {"text", "qwen2_5_vl", "qwen3_vl"}
    for kind, path in tiny_models.items():
        assert os.path.basename(path) == kind
        with open(os.path.join(path, "config.json")) as f:
            assert json.load(f)["architectures"] == [tm.read_marker(path)["architecture"]]


def test_concurrent_builder_result_is_kept(tmp_path):
    """If another builder finishes the same asset while we build, its folder stays in place."""
    out = tmp_path / "m"
    seen = {}

    def build(tmp):
        seen["path"] = tm.build_tiny_text_model(out, seed=0)  # the "other process" wins the race
        seen["mtime"] = os.stat(os.path.join(seen["path"], "model.safetensors")).st_mtime_ns
        with open(os.path.join(tmp, "ours.txt"), "w") as f:
            f.write("ours")
        return {}

    assert tm._ensure_asset(out, "text", 0, build) == seen["path"]
    assert not os.path.exists(os.path.join(seen["path"], "ours.txt"))
    assert os.stat(os.path.join(seen["path"], "model.safetensors")).st_mtime_ns == seen["mtime"]
    assert os.listdir(tmp_path) == ["m"]
