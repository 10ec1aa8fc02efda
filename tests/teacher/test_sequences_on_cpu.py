"""Teacher sequences assembled on the worker: ids, masks, positions, the row's own images."""

from __future__ import annotations

import torch
from tensordict import NonTensorStack, TensorDict

from rlsd_verl.teacher.inputs import teacher_position_ids
from rlsd_verl.teacher.sequences import TEACHER_PROMPT_FIELD, assemble_teacher_batch


def _nested(rows):
    return torch.nested.as_nested_tensor(rows, layout=torch.jagged)


def test_text_rows_concatenate_teacher_prompt_and_the_unchanged_response():
    prompts = [torch.tensor([1, 2, 3]), torch.tensor([4, 5])]
    responses = [torch.tensor([7, 8]), torch.tensor([9, 10, 11])]
    masks = [torch.tensor([1, 1]), torch.tensor([1, 1, 0])]
    data = TensorDict(
        {TEACHER_PROMPT_FIELD: _nested(prompts), "responses": _nested(responses), "response_mask": _nested(masks)},
        batch_size=[2],
    )
    out = assemble_teacher_batch(data, None)
    ids = out["input_ids"].unbind(0)
    assert ids[0].tolist() == [1, 2, 3, 7, 8] and ids[1].tolist() == [4, 5, 9, 10, 11]
    assert [r.tolist() for r in out["responses"].unbind(0)] == [[7, 8], [9, 10, 11]]
    assert [r.tolist() for r in out["loss_mask"].unbind(0)] == [[1, 1], [1, 1, 0]]
    assert [p.tolist() for p in out["position_ids"].unbind(0)] == [list(range(5)), list(range(5))]
    assert all(bool(a.all()) for a in out["attention_mask"].unbind(0))
    assert out["input_ids"].is_nested  # even with equal lengths (verl's no-padding layout)


def test_vl_rows_get_mrope_positions_and_keep_their_own_multimodal_inputs(tiny_models, synthetic):
    from verl.utils import hf_processor

    proc = hf_processor(tiny_models["qwen2_5_vl"])
    pad = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    start = proc.tokenizer.convert_tokens_to_ids("<|vision_start|>")
    end = proc.tokenizer.convert_tokens_to_ids("<|vision_end|>")
    grid = torch.tensor([[1, 4, 4]])  # 16 patches -> 4 tokens after the 2x2 merge
    mm = {"image_grid_thw": grid, "pixel_values": torch.randn(16, 8)}
    prompt = torch.tensor([105, 106, start, pad, pad, pad, pad, end, 107, 108, 109])
    data = TensorDict(
        {
            TEACHER_PROMPT_FIELD: _nested([prompt]),
            "responses": _nested([torch.tensor([120, 121])]),
            "response_mask": _nested([torch.tensor([1, 1])]),
            "multi_modal_inputs": NonTensorStack.from_list([mm]),
        },
        batch_size=[1],
    )
    out = assemble_teacher_batch(data, proc)
    seq = torch.cat([prompt, torch.tensor([120, 121])])
    pos = out["position_ids"].unbind(0)[0]
    assert pos.shape == (4, seq.numel())
    assert torch.equal(pos, teacher_position_ids(proc, seq, mm))
    # the row's own pixel tensor, by reference: no copy
    assert list(out["multi_modal_inputs"])[0]["pixel_values"].data_ptr() == mm["pixel_values"].data_ptr()


def test_extended_positions_equal_the_full_mrope_pass(tiny_models):
    """The positions of prompt ⊕ response equal get_rope_index over the whole sequence, for both VL families."""
    from verl.utils import hf_processor

    from rlsd_verl.teacher.sequences import extend_positions

    for model, grid in (("qwen2_5_vl", [[1, 4, 4]]), ("qwen3_vl", [[1, 4, 4]])):
        proc = hf_processor(tiny_models[model])
        pad = proc.image_token_id
        start = proc.tokenizer.convert_tokens_to_ids("<|vision_start|>")
        end = proc.tokenizer.convert_tokens_to_ids("<|vision_end|>")
        mm = {"image_grid_thw": torch.tensor(grid)}
        for prompt in ([105, start] + [pad] * 4 + [end, 107], [105, 106, 107, start] + [pad] * 4 + [end]):
            prompt = torch.tensor(prompt)
            for n in (0, 1, 7):
                response = torch.arange(120, 120 + n)
                full = teacher_position_ids(proc, torch.cat([prompt, response]), mm)
                assert torch.equal(extend_positions(teacher_position_ids(proc, prompt, mm), n), full), (model, n)
    flat = torch.arange(5)
    assert torch.equal(extend_positions(flat, 3), torch.arange(8))
