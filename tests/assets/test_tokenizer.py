"""The tiny offline tokenizer: round trips, Qwen special tokens, chat template, determinism, loaders."""

from __future__ import annotations

import os
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlsd_verl.assets import tokenizer as tk


@pytest.fixture(scope="module")
def tok():
    return tk.build_tokenizer()


def test_vocab_size_and_special_ids(tok):
    ids = tk.special_token_ids(tok)
    assert 300 < len(tok) <= tk.DEFAULT_VOCAB_SIZE + len(tk.TAG_TOKENS)
    assert len(set(ids.values())) == len(ids), "special/tag tokens must have distinct ids"
    assert tok.pad_token == "<|endoftext|>" and tok.pad_token_id == ids["<|endoftext|>"]
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == ids["<|im_end|>"]
    assert tok.bos_token is None  # as Qwen2/2.5/3
    for t in tk.SPECIAL_TOKENS + tk.TAG_TOKENS:  # each is exactly one token inside running text
        assert tok(f"a{t}b", add_special_tokens=False)["input_ids"].count(ids[t]) == 1


@pytest.mark.parametrize(
    "text",
    [
        "What is 13 + 7?\n\nThink step by step inside <think> </think> tags, then put the final answer in \\boxed{}.",
        "<think>13 + 7 = 20</think> \\boxed{20}",
        "<answer>C</answer>",
        "Ünïcödé, emoji \U0001F600 and tabs\tand\r\nnewlines",
        "",
    ],
)
def test_round_trip(tok, text):
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_round_trip_any_text(text):
    tok = tk.build_tokenizer()  # cached backend; wrapping is cheap enough for 60 examples
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == unicodedata.normalize("NFC", text)  # the Qwen2 pipeline NFC-normalises


def test_digits_are_split(tok):
    """Qwen's regex splits numbers into single digits; arithmetic answers rely on that."""
    pieces = [tok.decode([i]) for i in tok("12345", add_special_tokens=False)["input_ids"]]
    assert pieces == list("12345")


def test_prompt_template_is_compact(tok):
    from rlsd_verl.assets.synthetic_data import INSTRUCTION

    # Trained on the synthetic templates: the instruction must compress far below its byte length.
    assert len(tok(INSTRUCTION, add_special_tokens=False)["input_ids"]) < len(INSTRUCTION) // 2


def test_chat_template_string_and_generation_prompt(tok):
    msgs = [{"role": "user", "content": "What is 3 + 4?"}]
    plain = tok.apply_chat_template(msgs, tokenize=False)
    gen = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert plain == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nWhat is 3 + 4?<|im_end|>\n"
    )
    assert gen == plain + "<|im_start|>assistant\n"
    with_system = tok.apply_chat_template([{"role": "system", "content": "S"}] + msgs, tokenize=False)
    assert with_system.startswith("<|im_start|>system\nS<|im_end|>\n") and "helpful" not in with_system


def test_chat_template_image_parts(tok):
    msgs = [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": "unused"},
                {"type": "text", "text": "\nWhat is shown?"},
                {"type": "image"},
                {"type": "video"},
            ],
        },
        {"role": "assistant", "content": "<think>x</think> \\boxed{1}"},
    ]
    text = tok.apply_chat_template(msgs, tokenize=False)
    vis = "<|vision_start|><|image_pad|><|vision_end|>"
    assert f"<|im_start|>user\n{vis}\nWhat is shown?{vis}<|vision_start|><|video_pad|><|vision_end|><|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n<think>x</think> \\boxed{1}<|im_end|>\n")
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert ids.count(tok.convert_tokens_to_ids("<|image_pad|>")) == 2
    assert ids.count(tok.convert_tokens_to_ids("<|video_pad|>")) == 1


def test_deterministic_rebuild(tok):
    before = tok.backend_tokenizer.to_str()
    tk._trained_tokenizer_json.cache_clear()
    try:
        assert tk.build_tokenizer().backend_tokenizer.to_str() == before
    finally:
        tk._trained_tokenizer_json.cache_clear()


def test_deterministic_across_processes(tok):
    """BPE training must not depend on per-process hash seeds: a fresh interpreter gets the same file."""
    import hashlib
    import subprocess
    import sys

    code = (
        "import hashlib; from rlsd_verl.assets.tokenizer import _trained_tokenizer_json as f; "
        "print(hashlib.sha256(f(%d).encode()).hexdigest())" % tk.DEFAULT_VOCAB_SIZE
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(tk.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(root), os.environ.get("PYTHONPATH", "")])}
    env["PYTHONHASHSEED"] = "12345"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True)
    want = hashlib.sha256(tk._trained_tokenizer_json(tk.DEFAULT_VOCAB_SIZE).encode()).hexdigest()
    assert out.stdout.strip() == want


def test_bad_vocab_size():
    with pytest.raises(ValueError, match="vocab_size"):
        tk.build_tokenizer(vocab_size=10)
    with pytest.raises(ValueError, match="vocab_size"):
        tk.build_tokenizer(vocab_size="1000")


def test_saved_tokenizer_loads_through_verl_and_as_qwen2(tiny_models, tok):
    """verl's hf_tokenizer (-> Qwen2Tokenizer for model_type qwen2) encodes exactly like the built one."""
    from transformers import AutoTokenizer
    from verl.utils import hf_tokenizer

    text = "<|im_start|>user\nWhat is 3 + 4?<|im_end|>\n<think>3 + 4 = 7</think> \\boxed{7}"
    want = tok(text, add_special_tokens=False)["input_ids"]
    for path in tiny_models.values():
        for loaded in (hf_tokenizer(path), AutoTokenizer.from_pretrained(path)):
            assert loaded(text, add_special_tokens=False)["input_ids"] == want, (path, type(loaded).__name__)
            assert loaded.eos_token_id == tok.eos_token_id and loaded.pad_token_id == tok.pad_token_id
            assert loaded.chat_template == tk.CHAT_TEMPLATE
