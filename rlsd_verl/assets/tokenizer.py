"""A tiny Qwen-style byte-level BPE tokenizer, trained offline in well under a second.

Tests and the CPU demo cannot download Qwen's tokenizer, so this module trains one with the
``tokenizers`` library on generated text (arithmetic, short English, the synthetic datasets' prompt and
answer templates, ``<think>``/``<answer>`` tags and ``\\boxed{}``). It copies the parts of Qwen2's
tokenizer that code paths depend on:

* the same pipeline as ``transformers``' ``Qwen2Tokenizer`` (NFC normaliser, Qwen's pre-tokenisation
  regex with single-digit splitting, byte-level BPE, byte-level decoder), so it behaves the same whether
  it is loaded as ``TokenizersBackend`` or rebuilt as ``Qwen2Tokenizer``;
* Qwen's special tokens: ``<|endoftext|>`` (pad), ``<|im_start|>``, ``<|im_end|>`` (eos) and the vision
  tokens ``<|vision_start|>``, ``<|vision_end|>``, ``<|image_pad|>``, ``<|video_pad|>``; ``<think>``,
  ``</think>``, ``<answer>``, ``</answer>`` are single added (non-special) tokens as in Qwen3;
* a Qwen2.5-VL ChatML chat template that renders string content and list content with
  ``{"type": "image"}`` / ``{"type": "video"}`` / ``{"type": "text"}`` parts and supports
  ``add_generation_prompt``.

The build is deterministic: the corpus is generated from fixed seeds and BPE training is
deterministic, so every build writes byte-identical files.
"""

from __future__ import annotations

import functools
import random

PAD_TOKEN = "<|endoftext|>"
IM_START_TOKEN = "<|im_start|>"
EOS_TOKEN = "<|im_end|>"
VISION_START_TOKEN = "<|vision_start|>"
VISION_END_TOKEN = "<|vision_end|>"
IMAGE_PAD_TOKEN = "<|image_pad|>"
VIDEO_PAD_TOKEN = "<|video_pad|>"
# Order fixes the ids: special token i gets id i.
SPECIAL_TOKENS = (
    PAD_TOKEN,
    IM_START_TOKEN,
    EOS_TOKEN,
    VISION_START_TOKEN,
    VISION_END_TOKEN,
    IMAGE_PAD_TOKEN,
    VIDEO_PAD_TOKEN,
)
# Reasoning/answer tags: one token each, kept when decoding with skip_special_tokens=True.
TAG_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")
DEFAULT_VOCAB_SIZE = 1000
MODEL_MAX_LENGTH = 4096

# transformers' Qwen2Tokenizer pre-tokenisation regex (digits are split one by one).
PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

# Qwen2.5-VL's ChatML template (default system prompt, image/video parts, optional "Picture N:" ids).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_WORDS = (
    "the a an is are was of and or to in on at it this that what which how many much sum total "
    "answer think step by first then final put number numbers value result equal equals plus minus "
    "times add subtract multiply image picture shows shown square circle colour color red green blue "
    "yellow black white option options choose correct so we get because therefore let me check yes no "
    "true false one two three four five six seven eight nine ten you are helpful assistant question "
    "reasoning reference solution problem inside tags following"
).split()


def _corpus() -> list[str]:
    """The generated training text: synthetic prompts/answers, arithmetic, chat frames and English."""
    from rlsd_verl.assets.synthetic_data import sample_texts

    rng = random.Random("rlsd_verl/tokenizer/corpus")
    texts = list(sample_texts(400))
    for _ in range(1500):
        a, b = rng.randint(0, 999), rng.randint(0, 999)
        op = rng.choice("+-*")
        value = {"+": a + b, "-": a - b, "*": a * b}[op]
        texts.append(f"{a} {op} {b} = {value}")
        texts.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12))).capitalize() + ".")
    frame = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n{}<|im_end|>\n"
    for i in range(0, len(texts) - 1, 7):
        texts.append(frame.format(texts[i], texts[i + 1]))
    return texts


@functools.lru_cache(maxsize=4)
def _trained_tokenizer_json(vocab_size: int) -> str:
    """Train the BPE model once per process and vocab size; return its serialized ``tokenizer.json``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, trainers
    from tokenizers.models import BPE

    tok = Tokenizer(
        BPE(unk_token=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False, byte_fallback=False)
    )
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAG_TOKENS])
    return tok.to_str()


def build_tokenizer(vocab_size: int = DEFAULT_VOCAB_SIZE):
    """Return the tiny tokenizer as a ``transformers.PreTrainedTokenizerFast`` (not saved anywhere).

    ``vocab_size`` is the BPE target before the 4 tag tokens are added; it must leave room for the
    256 byte symbols and the special tokens. Save it with ``save_pretrained``; the model builders in
    :mod:`rlsd_verl.assets.tiny_models` do that for every asset.
    """
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    min_size = 256 + len(SPECIAL_TOKENS)
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or not min_size < vocab_size <= 32768:
        raise ValueError(f"vocab_size must be an int in ({min_size}, 32768], got {vocab_size!r}")
    backend = Tokenizer.from_str(_trained_tokenizer_json(vocab_size))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=None,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=None,
        model_max_length=MODEL_MAX_LENGTH,
        clean_up_tokenization_spaces=False,
        chat_template=CHAT_TEMPLATE,
    )
    return tokenizer


def special_token_ids(tokenizer) -> dict[str, int]:
    """Map each Qwen special token and tag token to its id in ``tokenizer`` (error if one is missing)."""
    ids = {}
    for tok in SPECIAL_TOKENS + TAG_TOKENS:
        idx = tokenizer.convert_tokens_to_ids(tok)
        if idx is None or (tokenizer.unk_token_id is not None and idx == tokenizer.unk_token_id):
            raise ValueError(f"tokenizer has no id for required token {tok!r}")
        ids[tok] = int(idx)
    return ids
