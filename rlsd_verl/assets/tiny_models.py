"""Tiny random Qwen2 / Qwen2.5-VL / Qwen3-VL checkpoints, built offline in about a second each.

Tests and the CPU demo cannot download real checkpoints, so these builders write, with
``save_pretrained``, everything verl's ``HFModelConfig`` / ``hf_tokenizer`` / ``hf_processor`` and
``AutoModelForCausalLM`` / ``AutoModelForImageTextToText`` / ``AutoProcessor.from_pretrained`` read:
``config.json``, ``generation_config.json``, ``model.safetensors`` (fp32, random init from ``seed``),
the tiny tokenizer of :mod:`rlsd_verl.assets.tokenizer` and, for the VL models, a processor whose image
processor turns a 56x56 image into 16 patches, i.e. 4 image tokens after the 2x2 merge.

Shapes keep the real architectures' structure (GQA, tied embeddings, M-RoPE sections, window attention
in Qwen2.5-VL, deepstack in Qwen3-VL) at toy widths, so the same code paths run as with real models.

Caching: each builder writes into a temporary folder next to ``out_dir`` and renames it into place, with
the marker file :data:`MARKER` written last. A later call finds the marker and returns at once, so tests
and the demo can share one build. A marker from a different kind, seed or :data:`ASSET_VERSION` makes
the builder replace the folder; a non-empty folder without a marker is never touched (error).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable

# Bump when anything written by the builders changes, so cached folders are rebuilt.
ASSET_VERSION = 2
MARKER = "rlsd_verl_asset.json"
KINDS = ("text", "qwen2_5_vl", "qwen3_vl")

TEXT_HIDDEN = 64
TEXT_INTERMEDIATE = 128
TEXT_LAYERS = 2
# head_dim = 64 / 2 = 32: vLLM's CPU attention supports head_dim 32, 64, 80, ... only (16 is refused)
TEXT_HEADS = 2
TEXT_KV_HEADS = 1
VISION_HIDDEN = 32
VISION_INTERMEDIATE = 64
VISION_HEADS = 2
MAX_POSITIONS = 4096


def read_marker(out_dir: str | os.PathLike) -> dict | None:
    """Return the parsed marker of a complete asset in ``out_dir``, or None if there is none."""
    path = os.path.join(os.fspath(out_dir), MARKER)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError(f"asset marker {path} is unreadable ({e}); delete the folder and rebuild") from e


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return seed


def _ensure_asset(out_dir: str | os.PathLike, kind: str, seed: int, build: Callable[[str], dict]) -> str:
    """Build ``kind`` into ``out_dir`` unless a matching complete asset is already there.

    ``build(tmp_dir)`` writes every file into ``tmp_dir`` and returns extra marker fields. The marker
    is written last, then the folder is renamed into place (atomic on one filesystem). If another
    process finished the same asset first, its copy is kept and ours is discarded.
    """
    if out_dir is None or (isinstance(out_dir, str) and not out_dir):
        raise ValueError(f"out_dir must be a folder path, got {out_dir!r}")
    out_dir = os.path.abspath(os.fspath(out_dir))
    want = {"kind": kind, "seed": seed, "asset_version": ASSET_VERSION}
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise ValueError(f"out_dir {out_dir} exists and is not a folder")
        marker = read_marker(out_dir)
        if _matches(marker, want):
            return out_dir
        if marker is None and os.listdir(out_dir):
            raise ValueError(
                f"out_dir {out_dir} is a non-empty folder without an rlsd_verl asset marker ({MARKER}); "
                "refusing to overwrite it: pass an empty or new folder"
            )
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", suffix=".tmp", dir=parent)
    try:
        t0 = time.perf_counter()
        extra = build(tmp)
        info = {**want, **extra, "build_seconds": round(time.perf_counter() - t0, 3)}
        info["files"] = sorted(os.listdir(tmp)) + [MARKER]
        with open(os.path.join(tmp, MARKER), "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2, sort_keys=True)
            f.write("\n")
        _move_into_place(tmp, out_dir, want)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _matches(marker: dict | None, want: dict) -> bool:
    return marker is not None and all(marker.get(k) == v for k, v in want.items())


def _move_into_place(tmp: str, out_dir: str, want: dict) -> None:
    """Rename the finished ``tmp`` folder to ``out_dir``, replacing an empty or stale asset folder.

    If a concurrent builder already put the wanted asset there, it is kept (ours is discarded by the
    caller), so a process that returned that path never sees it disappear.
    """
    trash = None
    if os.path.isdir(out_dir):
        marker = read_marker(out_dir)
        if _matches(marker, want):
            return
        if marker is None:
            if os.listdir(out_dir):
                raise ValueError(
                    f"out_dir {out_dir} was filled by someone else during the build; refusing to overwrite it"
                )
            os.rmdir(out_dir)
        else:  # a stale asset of ours (other kind/seed/version): move it aside, drop it after the swap
            parent = os.path.dirname(out_dir)
            trash = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", suffix=".old", dir=parent)
            os.rmdir(trash)
            os.replace(out_dir, trash)
    try:
        os.replace(tmp, out_dir)
    except OSError:
        # Lost a race with another builder: accept its result if it is the asset we wanted.
        if not (os.path.isdir(out_dir) and _matches(read_marker(out_dir), want)):
            raise
    finally:
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)


def _token_ids(tokenizer) -> dict[str, int]:
    from rlsd_verl.assets.tokenizer import (
        EOS_TOKEN,
        IMAGE_PAD_TOKEN,
        PAD_TOKEN,
        VIDEO_PAD_TOKEN,
        VISION_END_TOKEN,
        VISION_START_TOKEN,
        special_token_ids,
    )

    ids = special_token_ids(tokenizer)
    return {
        "pad": ids[PAD_TOKEN],
        "eos": ids[EOS_TOKEN],
        "image": ids[IMAGE_PAD_TOKEN],
        "video": ids[VIDEO_PAD_TOKEN],
        "vision_start": ids[VISION_START_TOKEN],
        "vision_end": ids[VISION_END_TOKEN],
    }


def _generation_config(ids: dict[str, int]):
    """Qwen-style generation defaults: stop on <|im_end|> or <|endoftext|>, pad with <|endoftext|>."""
    from transformers import GenerationConfig

    return GenerationConfig(bos_token_id=ids["pad"], eos_token_id=[ids["eos"], ids["pad"]], pad_token_id=ids["pad"])


def _text_kwargs(vocab_size: int, ids: dict[str, int]) -> dict:
    return dict(
        vocab_size=vocab_size,
        hidden_size=TEXT_HIDDEN,
        intermediate_size=TEXT_INTERMEDIATE,
        num_hidden_layers=TEXT_LAYERS,
        num_attention_heads=TEXT_HEADS,
        num_key_value_heads=TEXT_KV_HEADS,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=ids["pad"],
        eos_token_id=ids["eos"],
        pad_token_id=ids["pad"],
    )


def _init_and_save(model_cls, config, seed: int, out_dir: str, ids: dict[str, int]) -> int:
    """Randomly initialise ``model_cls(config)`` in fp32 from ``seed`` and save it; return #params.

    The global torch RNG state is restored afterwards, so building never perturbs the caller.
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_cls(config).to(torch.float32).eval()
    model.generation_config = _generation_config(ids)
    from transformers.utils import logging as hf_logging

    bar_was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # one tiny shard: the "Writing model shards" bar is just noise
    try:
        model.save_pretrained(out_dir)
    finally:
        if bar_was_enabled:
            hf_logging.enable_progress_bar()
    return sum(p.numel() for p in model.parameters())


def build_tiny_text_model(out_dir: str | os.PathLike, seed: int = 0) -> str:
    """Build (or reuse) a tiny random ``Qwen2ForCausalLM`` plus tokenizer in ``out_dir``; return it.

    hidden 64, intermediate 128, 2 layers, 2 heads / 1 KV head (head_dim 32, the smallest vLLM's CPU
    attention runs), tied embeddings, fp32 weights drawn
    from ``seed``. ``hf_processor(out_dir)`` returns None for it, as for real text models.
    """
    seed = _check_seed(seed)

    def build(tmp: str) -> dict:
        from transformers import Qwen2Config, Qwen2ForCausalLM

        from rlsd_verl.assets.tokenizer import build_tokenizer

        tokenizer = build_tokenizer()
        ids = _token_ids(tokenizer)
        config = Qwen2Config(**_text_kwargs(len(tokenizer), ids), tie_word_embeddings=True, dtype="float32")
        n_params = _init_and_save(Qwen2ForCausalLM, config, seed, tmp, ids)
        tokenizer.save_pretrained(tmp)
        return {"architecture": "Qwen2ForCausalLM", "num_parameters": n_params, "vocab_size": len(tokenizer)}

    return _ensure_asset(out_dir, "text", seed, build)


def _vl_image_processor_kwargs(patch_size: int, mean_std: float | None) -> dict:
    """Small pixel budget: min = 2x2 merged tokens (one 56x56 / 64x64 image), max = 4x4 merged tokens."""
    factor = patch_size * 2  # spatial merge size 2
    kwargs = dict(
        size={"shortest_edge": factor * factor * 4, "longest_edge": factor * factor * 16},
        patch_size=patch_size,
        temporal_patch_size=2,
        merge_size=2,
    )
    if mean_std is not None:
        kwargs.update(image_mean=[mean_std] * 3, image_std=[mean_std] * 3)
    return kwargs


def _vision_kwargs(patch_size: int, **extra) -> dict:
    """The vision tower of both VL models: one block of width ``VISION_HIDDEN`` projecting to the text width,
    2x2 spatial merge, 2-frame temporal patches; ``extra`` holds the model-specific fields."""
    return dict(
        depth=1,
        hidden_size=VISION_HIDDEN,
        intermediate_size=VISION_INTERMEDIATE,
        num_heads=VISION_HEADS,
        out_hidden_size=TEXT_HIDDEN,
        patch_size=patch_size,
        spatial_merge_size=2,
        temporal_patch_size=2,
        **extra,
    )


def _media_token_kwargs(ids: dict[str, int]) -> dict:
    """The image / video / vision-span token ids of a Qwen-VL config."""
    return dict(
        image_token_id=ids["image"],
        video_token_id=ids["video"],
        vision_start_token_id=ids["vision_start"],
        vision_end_token_id=ids["vision_end"],
    )


def _save_vl_processor(out_dir: str, processor_cls, video_processor_cls, tokenizer, patch_size: int,
                       mean_std: float | None) -> None:
    """Save ``processor_cls`` built from a ``Qwen2VLImageProcessor``, ``video_processor_cls`` (the same pixel
    budget, :func:`_vl_image_processor_kwargs`), the tiny tokenizer and its chat template."""
    from transformers import Qwen2VLImageProcessor

    from rlsd_verl.assets.tokenizer import CHAT_TEMPLATE

    processor = processor_cls(
        image_processor=Qwen2VLImageProcessor(**_vl_image_processor_kwargs(patch_size, mean_std)),
        video_processor=video_processor_cls(**_vl_image_processor_kwargs(patch_size, mean_std)),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(out_dir)


def build_tiny_qwen2_5_vl(out_dir: str | os.PathLike, seed: int = 0) -> str:
    """Build (or reuse) a tiny random ``Qwen2_5_VLForConditionalGeneration`` plus processor in ``out_dir``.

    Text: 2 layers of width 64 (2 heads, 1 KV head, head_dim 32, M-RoPE sections [4, 6, 6] summing
    to head_dim / 2). Vision: one block of width 32, patch 14, window attention with that block as the
    full-attention block. Processor: ``Qwen2_5_VLProcessor`` = ``Qwen2VLImageProcessor`` (min 56x56,
    max 112x112 pixels) + ``Qwen2VLVideoProcessor`` + the tiny tokenizer and its chat template.
    """
    seed = _check_seed(seed)

    def build(tmp: str) -> dict:
        from transformers import (
            Qwen2_5_VLConfig,
            Qwen2_5_VLForConditionalGeneration,
            Qwen2_5_VLProcessor,
            Qwen2VLVideoProcessor,
        )

        from rlsd_verl.assets.tokenizer import build_tokenizer

        tokenizer = build_tokenizer()
        ids = _token_ids(tokenizer)
        head_dim = TEXT_HIDDEN // TEXT_HEADS
        mrope_section = [4, 6, 6]  # Qwen2.5-VL's [16, 24, 24] scaled to head_dim 32
        assert sum(mrope_section) == head_dim // 2
        text_config = dict(
            **_text_kwargs(len(tokenizer), ids),
            rope_parameters={"rope_type": "default", "mrope_section": mrope_section, "rope_theta": 1000000.0},
            dtype="float32",
        )
        vision_config = _vision_kwargs(14, window_size=112, fullatt_block_indexes=[0], tokens_per_second=2)
        config = Qwen2_5_VLConfig(
            text_config=text_config,
            vision_config=vision_config,
            **_media_token_kwargs(ids),
            bos_token_id=ids["pad"],
            eos_token_id=ids["eos"],
            pad_token_id=ids["pad"],
            tie_word_embeddings=True,
            dtype="float32",
        )
        n_params = _init_and_save(Qwen2_5_VLForConditionalGeneration, config, seed, tmp, ids)
        _save_vl_processor(tmp, Qwen2_5_VLProcessor, Qwen2VLVideoProcessor, tokenizer, 14, None)
        return {"architecture": "Qwen2_5_VLForConditionalGeneration", "num_parameters": n_params, "vocab_size": len(tokenizer)}

    return _ensure_asset(out_dir, "qwen2_5_vl", seed, build)


def build_tiny_qwen3_vl(out_dir: str | os.PathLike, seed: int = 0) -> str:
    """Build (or reuse) a tiny random ``Qwen3VLForConditionalGeneration`` plus processor in ``out_dir``.

    Text: 2 layers of width 64 (2 heads, 1 KV head, head_dim 32, interleaved M-RoPE sections
    [6, 5, 5] summing to head_dim / 2). Vision: one block of width 32, patch 16, an 8x8 learned position
    grid, deepstack taken from that block. Processor: ``Qwen3VLProcessor`` = ``Qwen2VLImageProcessor``
    (patch 16, mean/std 0.5 as Qwen3-VL, min 64x64 / max 128x128 pixels, so a 56x56 image is resized to
    64x64 = 16 patches) + ``Qwen3VLVideoProcessor`` + the tiny tokenizer and its chat template.
    """
    seed = _check_seed(seed)

    def build(tmp: str) -> dict:
        from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLProcessor, Qwen3VLVideoProcessor

        from rlsd_verl.assets.tokenizer import build_tokenizer

        tokenizer = build_tokenizer()
        ids = _token_ids(tokenizer)
        head_dim = TEXT_HIDDEN // TEXT_HEADS
        mrope_section = [6, 5, 5]  # Qwen3-VL's [24, 20, 20] scaled to head_dim 32
        assert sum(mrope_section) == head_dim // 2
        text_config = dict(
            **_text_kwargs(len(tokenizer), ids),
            head_dim=head_dim,
            rope_parameters={
                "rope_type": "default",
                "mrope_section": mrope_section,
                "mrope_interleaved": True,
                "rope_theta": 5000000.0,
            },
            dtype="float32",
        )
        vision_config = _vision_kwargs(16, num_position_embeddings=64, deepstack_visual_indexes=[0])
        config = Qwen3VLConfig(
            text_config=text_config,
            vision_config=vision_config,
            **_media_token_kwargs(ids),
            tie_word_embeddings=True,
            dtype="float32",
        )
        # Qwen3VLConfig has no top-level token-id fields; set them as attributes (saved in config.json).
        config.bos_token_id, config.eos_token_id, config.pad_token_id = ids["pad"], ids["eos"], ids["pad"]
        n_params = _init_and_save(Qwen3VLForConditionalGeneration, config, seed, tmp, ids)
        _save_vl_processor(tmp, Qwen3VLProcessor, Qwen3VLVideoProcessor, tokenizer, 16, 0.5)
        return {"architecture": "Qwen3VLForConditionalGeneration", "num_parameters": n_params, "vocab_size": len(tokenizer)}

    return _ensure_asset(out_dir, "qwen3_vl", seed, build)


BUILDERS: dict[str, Callable[..., str]] = {
    "text": build_tiny_text_model,
    "qwen2_5_vl": build_tiny_qwen2_5_vl,
    "qwen3_vl": build_tiny_qwen3_vl,
}


def build_all(out_dir: str | os.PathLike, seed: int = 0) -> dict[str, str]:
    """Build (or reuse) all three tiny models under ``out_dir/{text,qwen2_5_vl,qwen3_vl}``.

    Returns ``{"text": path, "qwen2_5_vl": path, "qwen3_vl": path}``.
    """
    out_dir = os.fspath(out_dir)
    return {kind: builder(os.path.join(out_dir, kind), seed=seed) for kind, builder in BUILDERS.items()}
