"""The ``hf`` rollout server: token-in/token-out generation whose log-probs match a plain HF forward."""

from __future__ import annotations

import asyncio

import pytest
import torch
from verl.workers.config import HFModelConfig, RolloutConfig

from rlsd_verl.cpu.hf_rollout import HFRolloutServer

SAMPLING = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "logprobs": True}


def _server(model_dir: str) -> HFRolloutServer:
    config = RolloutConfig(name="hf", prompt_length=256, response_length=12)
    return HFRolloutServer(config, HFModelConfig(path=model_dir), replica_rank=0)


def _chat_ids(tokenizer, text: str) -> list[int]:
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False)
    return tokenizer.encode(rendered, add_special_tokens=False)


def _generate(server, prompt_ids, sampling=SAMPLING, **kwargs):
    return asyncio.run(server.generate(prompt_ids=prompt_ids, sampling_params=dict(sampling), request_id="t", **kwargs))


def _hf_log_probs(model, full_ids: torch.Tensor, n_prompt: int, temperature: float, **mm) -> torch.Tensor:
    with torch.no_grad():
        logits = model(input_ids=full_ids.unsqueeze(0), **mm).logits[0].float()
    logp = torch.log_softmax(logits / temperature, dim=-1)
    targets = full_ids[n_prompt:]
    return logp[n_prompt - 1 : -1].gather(-1, targets.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_text_rollout_log_probs_equal_plain_hf_forward(tiny_models, temperature):
    from transformers import AutoModelForCausalLM

    server = _server(tiny_models["text"])
    prompt = _chat_ids(server.tokenizer, "What is 3 + 4?")
    out = _generate(server, prompt, {**SAMPLING, "temperature": temperature})
    assert 1 <= len(out.token_ids) <= 12 and len(out.log_probs) == len(out.token_ids)
    model = AutoModelForCausalLM.from_pretrained(tiny_models["text"], dtype=torch.float32, attn_implementation="sdpa")
    full = torch.tensor(list(prompt) + out.token_ids)
    expected = _hf_log_probs(model, full, len(prompt), temperature)
    assert torch.allclose(torch.tensor(out.log_probs), expected, atol=1e-5), (out.log_probs, expected)


def test_vl_rollout_with_image_matches_plain_hf_forward(tiny_models, synthetic):
    from omegaconf import OmegaConf
    from transformers import AutoModelForImageTextToText

    from rlsd_verl.teacher.inputs import TeacherPromptBuilder

    server = _server(tiny_models["qwen2_5_vl"])
    tok, proc = server.tokenizer, server.processor
    from verl.utils.dataset.rl_dataset import RLHFDataset

    cfg = OmegaConf.create({"prompt_key": "prompt", "image_key": "images", "max_prompt_length": 512,
                            "filter_overlong_prompts": False, "return_raw_chat": True})
    ds = RLHFDataset(data_files=[synthetic["vl"][0]], tokenizer=tok, config=cfg, processor=proc)
    # render the prompt the way verl's agent loop does (the builder used for teacher prompts)
    built = TeacherPromptBuilder(tok, proc, cfg, "qwen2_5_vl", "{hint}", 8, 512).build(ds[0]["raw_prompt"], "")
    out = _generate(server, built.prompt_ids, image_data=built.images)
    assert len(out.token_ids) >= 1

    model = AutoModelForImageTextToText.from_pretrained(tiny_models["qwen2_5_vl"], dtype=torch.float32, attn_implementation="sdpa")
    full = torch.tensor(built.prompt_ids + out.token_ids)
    mm = proc.image_processor(images=built.images, return_tensors="pt")
    mm_types = torch.tensor(proc.create_mm_token_type_ids([full.tolist()]))
    expected = _hf_log_probs(
        model, full, len(built.prompt_ids), 1.0,
        pixel_values=mm["pixel_values"], image_grid_thw=mm["image_grid_thw"], mm_token_type_ids=mm_types,
    )
    assert torch.allclose(torch.tensor(out.log_probs), expected, atol=1e-5)
    # responses never contain vision placeholders (they would break verl's M-RoPE positions)
    placeholders = {tok.convert_tokens_to_ids(t) for t in ("<|image_pad|>", "<|vision_start|>", "<|vision_end|>", "<|video_pad|>")}
    assert placeholders <= set(server._suppress_ids)
    hot = {**SAMPLING, "temperature": 5.0, "max_tokens": 200}  # near-uniform: unsuppressed, they would appear
    sampled = [t for _ in range(5) for t in _generate(server, built.prompt_ids, hot, image_data=built.images).token_ids]
    assert len(sampled) > 100 and not placeholders & set(sampled)
    # the image matters: another image changes the log-probs of the same tokens
    other = proc.image_processor(images=[built.images[0].rotate(90)], return_tensors="pt")
    changed = _hf_log_probs(
        model, full, len(built.prompt_ids), 1.0,
        pixel_values=other["pixel_values"], image_grid_thw=other["image_grid_thw"], mm_token_type_ids=mm_types,
    )
    assert not torch.allclose(changed, expected, atol=1e-6)


def _weights(server) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in server.model.state_dict().items()}


def test_greedy_is_deterministic_and_weights_update_changes_output(tiny_models):
    server = _server(tiny_models["text"])
    prompt = _chat_ids(server.tokenizer, "What is 2 + 2?")
    greedy = {**SAMPLING, "temperature": 0.0}
    a, b = _generate(server, prompt, greedy), _generate(server, prompt, greedy)
    assert a.token_ids == b.token_ids
    state = {k: v + 0.05 * torch.randn_like(v) for k, v in _weights(server).items() if v.is_floating_point()}
    asyncio.run(server.update_weights(state, global_steps=3))
    after = _weights(server)
    name = next(k for k in state if ".layers.0." in k)
    assert torch.equal(after[name], state[name])
    c = _generate(server, prompt, greedy)
    assert c.extra_fields["global_steps"] == 3
    assert c.log_probs != a.log_probs


def test_update_weights_rejects_mismatched_names(tiny_models):
    server = _server(tiny_models["text"])
    with pytest.raises(RuntimeError, match="unexpected keys"):
        asyncio.run(server.update_weights({"not.a.weight": torch.zeros(1)}))
    with pytest.raises(ValueError, match="audio"):
        _generate(server, [1, 2, 3], audio_data=[object()])


def test_concurrent_text_requests_are_batched_and_match_plain_hf_forward(tiny_models):
    """Requests arriving together share one left-padded generate; each row is still its own sequence."""
    from transformers import AutoModelForCausalLM

    server = _server(tiny_models["text"])
    calls = []
    original = server._generate_batch_sync

    def spy(prompts, params):
        calls.append(len(prompts))
        return original(prompts, params)

    server._generate_batch_sync = spy
    prompts = [_chat_ids(server.tokenizer, q) for q in ("What is 3 + 4?", "Hi", "What is 12 + 30? Think.")]
    assert len({len(p) for p in prompts}) == 3  # different lengths: left padding is exercised

    async def together():
        return await asyncio.gather(
            *(server.generate(prompt_ids=p, sampling_params=dict(SAMPLING), request_id=str(i)) for i, p in enumerate(prompts))
        )

    outs = asyncio.run(together())
    assert calls == [3]
    model = AutoModelForCausalLM.from_pretrained(tiny_models["text"], dtype=torch.float32, attn_implementation="sdpa")
    for prompt, out in zip(prompts, outs):
        assert 1 <= len(out.token_ids) <= 12 and len(out.log_probs) == len(out.token_ids)
        expected = _hf_log_probs(model, torch.tensor(list(prompt) + out.token_ids), len(prompt), 1.0)
        assert torch.allclose(torch.tensor(out.log_probs), expected, atol=1e-4), (out.log_probs, expected)
