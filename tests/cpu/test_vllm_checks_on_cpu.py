"""Start-up checks for rollout.name=vllm on the CPU backend: each bad setting is an error naming it."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from rlsd_verl.cpu import vllm_checks


def _config(tmp_path, head_dim=32, **rollout):
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text(json.dumps({"text_config": {"hidden_size": 2 * head_dim, "num_attention_heads": 2}}))
    base = {
        "name": "vllm", "enable_sleep_mode": False, "free_cache_engine": False,
        "engine_kwargs": {"vllm": {"worker_extension_cls": vllm_checks.EXTENSION_CLS}},
    }
    base.update(rollout)
    return OmegaConf.create({"actor_rollout_ref": {"model": {"path": str(model)}, "rollout": base}})


@pytest.fixture
def vllm_importable(monkeypatch):
    monkeypatch.setattr(vllm_checks, "check_vllm_installed", lambda: None)


def test_preset_settings_pass(tmp_path, vllm_importable):
    vllm_checks.check(_config(tmp_path), flags={"avx2"})


def test_hf_rollout_is_not_checked(tmp_path):
    vllm_checks.check(_config(tmp_path, head_dim=16, name="hf", enable_sleep_mode=True), flags=set())


@pytest.mark.parametrize(
    "rollout, flag",
    [
        ({"enable_sleep_mode": True}, "enable_sleep_mode"),
        ({"free_cache_engine": True}, "free_cache_engine"),
        ({"engine_kwargs": {"vllm": {}}}, "worker_extension_cls"),
    ],
)
def test_cuda_only_settings_are_refused_by_name(tmp_path, vllm_importable, rollout, flag):
    with pytest.raises(ValueError, match=flag):
        vllm_checks.check(_config(tmp_path, **rollout), flags={"avx2"})


def test_head_dim_vllm_cpu_refuses_names_the_model(tmp_path, vllm_importable):
    with pytest.raises(ValueError, match=r"head size 16.*model"):
        vllm_checks.check(_config(tmp_path, head_dim=16), flags={"avx2"})


def test_cpu_without_avx2_is_refused(tmp_path, vllm_importable):
    with pytest.raises(RuntimeError, match="AVX2.*rollout.name=hf"):
        vllm_checks.check(_config(tmp_path), flags={"sse4_2", "avx"})


def test_cpu_flags_parse_proc_cpuinfo():
    text = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
    assert vllm_checks.cpu_flags(text) == {"fpu", "sse2", "avx", "avx2", "fma"}
    assert vllm_checks.cpu_flags("nothing") == set()


def test_missing_vllm_names_the_environment(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    with pytest.raises(RuntimeError, match=r"\.venv-vllm"):
        vllm_checks.check_vllm_installed()


def test_tiny_models_run_on_vllm_cpu(tiny_models):
    """The tiny test models have a head size vLLM's CPU attention accepts (it refuses 16)."""
    for kind in ("text", "qwen2_5_vl", "qwen3_vl"):
        assert vllm_checks.head_size(tiny_models[kind]) in vllm_checks.SUPPORTED_HEAD_SIZES, kind


def test_the_worker_extension_must_be_ours_or_a_subclass():
    assert vllm_checks.is_cpu_extension(vllm_checks.EXTENSION_CLS)
    for other in (None, "", "NoDots", "no_such_module.Extension",
                  "verl.workers.rollout.vllm_rollout.utils.vLLMColocateWorkerExtension"):  # verl's: lacks the patch
        assert not vllm_checks.is_cpu_extension(other), other
