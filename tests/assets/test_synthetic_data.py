"""Synthetic parquet datasets: project schema, answers that match the question, verl's RLHFDataset."""

from __future__ import annotations

import io
import os
import re

import datasets
import pytest
from omegaconf import OmegaConf
from PIL import Image

from rlsd_verl.assets import synthetic_data as sd
from rlsd_verl.data.schema import FEATURES, check_parquet


def _load(path):
    return datasets.load_dataset("parquet", data_files=path, split="train")


def _expr_value(expr: str) -> int:
    a, op, b = re.fullmatch(r"(\d+) ([-+*]) (\d+)", expr).groups()
    return {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op]


@pytest.mark.parametrize("kind", ["text", "vl"])
def test_files_follow_project_schema(synthetic, kind):
    train, val = synthetic[kind]
    assert os.path.basename(train) == "train.parquet" and os.path.basename(val) == "val.parquet"
    for path, split, n in ((train, "train", 32), (val, "val", 8)):
        report = check_parquet(path)  # features == FEATURES, every row validated, images decode
        assert report["rows"] == n
        ds = _load(path)
        assert ds.features == FEATURES
        assert [r["extra_info"]["index"] for r in ds] == list(range(n))
        assert {r["extra_info"]["split"] for r in ds} == {split}
        assert {r["data_source"] for r in ds} == {f"rlsd_verl/synthetic_{kind}"}
    # Text and VL files concatenate (same schema), as verl does with several data files.
    assert len(datasets.concatenate_datasets([_load(synthetic["text"][0]), _load(synthetic["vl"][0])])) == 64


def test_text_rows_answer_their_question(synthetic):
    for row in _load(synthetic["text"][0]):
        ex = row["extra_info"]
        expr = re.fullmatch(r"What is (.+)\?", ex["question"]).group(1)
        gt = row["reward_model"]["ground_truth"]
        assert gt == ex["answer"] == str(_expr_value(expr))
        assert ex["reference_solution"] == f"{expr} = {gt}"
        assert row["prompt"] == [{"role": "user", "content": f"{ex['question']}\n\n{sd.INSTRUCTION}"}]
        assert row["images"] == [] and ex["question_type"] == "free_form"


def test_vl_rows_one_image_each_and_answers_match(synthetic):
    rows = list(_load(synthetic["vl"][0]))
    kinds = set()
    for row in rows:
        content = row["prompt"][0]["content"]
        assert content.count("<image>") == len(row["images"]) == 1
        img = row["images"][0]
        assert isinstance(img, Image.Image) and img.size == (sd.IMAGE_SIZE, sd.IMAGE_SIZE)
        ex, gt = row["extra_info"], row["reward_model"]["ground_truth"]
        kinds.add(ex["question_type"])
        if ex["question_type"] == "free_form":
            expr = re.fullmatch(r"The image shows (.+)\. .*", ex["reference_solution"]).group(1)
            assert gt == str(_expr_value(expr))
        else:
            assert ex["options"] == list(sd.COLOURS)
            colour = ex["options"]["ABCD".index(gt)]
            assert f"The square is {colour}" in ex["reference_solution"]
            # The drawn square really has that colour.
            assert sd.COLOURS[colour] in {c for _, c in img.convert("RGB").getcolors(4096)}
    assert kinds == {"free_form", "multiple_choice"}


def test_deterministic_and_seed_dependent(tmp_path):
    a = sd.write_synthetic_dataset(tmp_path / "a", "vl", n_train=6, n_val=2, seed=5)
    b = sd.write_synthetic_dataset(tmp_path / "b", "vl", n_train=6, n_val=2, seed=5)
    c = sd.write_synthetic_dataset(tmp_path / "c", "vl", n_train=6, n_val=2, seed=6)

    def rows(path):
        ds = _load(path).cast_column("images", datasets.List(datasets.Image(decode=False)))
        return list(ds)

    assert rows(a[0]) == rows(b[0]) and rows(a[1]) == rows(b[1])
    assert rows(a[0]) != rows(c[0])
    assert rows(a[0]) != rows(a[1])  # train and val differ
    assert not [f for f in os.listdir(tmp_path / "a") if f.startswith(".")], "no temp files left behind"


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        sd.write_synthetic_dataset(tmp_path, "audio")
    with pytest.raises(ValueError, match="train"):
        sd.write_synthetic_dataset(tmp_path, "text", n_train=0)
    with pytest.raises(ValueError, match="seed"):
        sd.make_rows("text", "train", 2, seed="0")
    assert not os.path.exists(tmp_path / "train.parquet")


def _dataset(path, tokenizer, processor):
    from verl.utils.dataset.rl_dataset import RLHFDataset

    config = OmegaConf.create(
        {
            "max_prompt_length": 256,
            "filter_overlong_prompts": True,
            "filter_overlong_prompts_workers": 1,
            "return_raw_chat": True,
            "cache_dir": os.path.join(os.path.dirname(path), "cache"),
        }
    )
    return RLHFDataset(data_files=[path], tokenizer=tokenizer, config=config, processor=processor)


def test_rlhf_dataset_text(synthetic, tiny_models):
    from verl.utils import hf_tokenizer

    ds = _dataset(synthetic["text"][0], hf_tokenizer(tiny_models["text"]), None)
    assert len(ds) == 32  # none filtered out at 256 tokens
    item = ds[0]
    assert item["raw_prompt"] == [{"role": "user", "content": item["prompt"][0]["content"]}]
    assert item["reward_model"]["style"] == "rule" and item["index"] == 0
    assert item["extra_info"]["reference_solution"]


@pytest.mark.parametrize("kind", ["qwen2_5_vl", "qwen3_vl"])
def test_rlhf_dataset_vl_with_processor(synthetic, tiny_models, kind):
    from verl.utils import hf_processor, hf_tokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    processor = hf_processor(tiny_models[kind])
    ds = _dataset(synthetic["vl"][0], hf_tokenizer(tiny_models[kind]), processor)
    assert len(ds) == 32
    for i in (0, 1):
        messages = ds[i]["raw_prompt"]
        parts = messages[0]["content"]
        assert [p["type"] for p in parts] == ["image", "text"]
        assert isinstance(parts[0]["image"], Image.Image)
        assert parts[1]["text"].startswith("\nWhat is")
        # The rollout path: qwen_vl_utils resizing, chat template, processor, image-token expansion.
        images, _, _ = RLHFDataset._process_multi_modal_info(messages, ds.image_patch_size, ds.config)
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = processor(text=[prompt], images=images, return_tensors="pt")
        n = int((inputs["input_ids"] == processor.image_token_id).sum())
        assert n == int(inputs["image_grid_thw"].prod()) // processor.image_processor.merge_size**2 == 4


def test_image_bytes_are_png(synthetic):
    ds = _load(synthetic["vl"][1]).cast_column("images", datasets.List(datasets.Image(decode=False)))
    for row in ds:
        raw = row["images"][0]["bytes"]
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        assert Image.open(io.BytesIO(raw)).size == (56, 56)
