"""Every builder's output loads through verl's RLHFDataset with a Qwen2.5-VL processor, and all of them
concatenate into one dataset (identical schema + HF metadata)."""

from __future__ import annotations

import datasets
import pytest
from omegaconf import OmegaConf

from rlsd_verl.data.schema import FEATURES, check_parquet


@pytest.fixture(scope="module")
def tiny_vl(tmp_path_factory):
    from rlsd_verl.assets.tiny_models import build_tiny_qwen2_5_vl

    return build_tiny_qwen2_5_vl(tmp_path_factory.mktemp("tiny_vl") / "qwen2_5_vl", seed=0)


def test_all_outputs_concatenate(all_outputs):
    parts = [datasets.load_dataset("parquet", data_files=p, split="train") for p in all_outputs.values()]
    assert all(p.features == FEATURES for p in parts)
    merged = datasets.concatenate_datasets(parts)
    assert len(merged) == sum(len(p) for p in parts) == 5 + 4 + 3 + 2 + 1 + 2 + 2 + 5
    assert merged.features == FEATURES
    assert len(set(merged["data_source"])) == 8
    for path in all_outputs.values():
        check_parquet(path)  # full validation incl. decoding every image


def test_rlhf_dataset_with_qwen2_5_vl_processor(all_outputs, tiny_vl, tmp_path):
    from verl.utils import hf_processor, hf_tokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    files = list(all_outputs.values())
    config = OmegaConf.create(
        {
            "max_prompt_length": 8192,
            "filter_overlong_prompts": True,  # runs the processor on every prompt (chat template + images)
            "filter_overlong_prompts_workers": 1,
            "return_raw_chat": True,
            "cache_dir": str(tmp_path / "cache"),
        }
    )
    ds = RLHFDataset(data_files=files, tokenizer=hf_tokenizer(tiny_vl), config=config, processor=hf_processor(tiny_vl))
    assert len(ds) == 24  # nothing filtered out
    originals = datasets.concatenate_datasets(
        [datasets.load_dataset("parquet", data_files=f, split="train") for f in files])
    seen_sources = set()
    for i in range(len(ds)):
        item = ds[i]
        content = originals[i]["prompt"][0]["content"]  # (RLHFDataset rewrites item["prompt"] in place)
        parts = item["raw_prompt"][0]["content"]
        n_images = sum(1 for p in parts if p["type"] == "image")
        assert n_images >= 1 and n_images == content.count("<image>") == len(originals[i]["images"])
        assert all(p["image"].mode == "RGB" for p in parts if p["type"] == "image")
        texts = "".join(p["text"] for p in parts if p["type"] == "text")
        assert texts == content.replace("<image>", "")
        assert item["index"] == item["extra_info"]["index"]
        seen_sources.add(item["data_source"])
    assert len(seen_sources) == 8
