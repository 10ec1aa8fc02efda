"""``python -m rlsd_verl.preflight``: the Table 2 runs at every scale are checked and planned without Ray."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from rlsd_verl import preflight
from rlsd_verl.trainer.estimators import ENTRY_ENV

ROWS = ("grpo", "opsd", "grpo_opsd", "sdpo", "rlsd", "rlsd_official")
SCALES = ("paper", "single_node", "smoke")
CPU_DATA = ["data.train_files=/a/train.parquet", "data.val_files=/a/val.parquet"]


@pytest.fixture
def plugin_env(monkeypatch):
    """preflight exports the plugin's environment as rlsd_verl.main does; restore it afterwards."""
    for key in (ENTRY_ENV, "VERL_USE_EXTERNAL_MODULES"):
        monkeypatch.setenv(key, os.environ.get(key, ""))


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("row", ROWS)
def test_every_table2_row_and_gpu_scale_passes_and_is_planned(row, scale, plugin_env):
    cfg = preflight.compose_config([f"+experiment=table2/{row}", f"+scale={scale}"])
    checks = preflight.run_checks(cfg)
    assert [c.name for c in checks if c.error] == [], [c.error for c in checks if c.error]
    assert not any("Ray was started" in w for c in checks for w in c.warnings)
    plan = "\n".join(preflight.plan_lines(cfg))
    assert "longest teacher sequence" in plan and "versions (verl's pins" in plan
    if row == "grpo":
        assert "no teacher" in plan and "teacher copy" not in plan
    else:
        assert "host memory:" in plan and "streamed host → GPU per teacher micro-batch" in plan
        assert "dtype: bf16 = the actor's compute dtype" in plan  # GPU scales compute in bf16


def test_paper_rlsd_plan_numbers():
    """Qwen3-VL-8B (table: 8.77e9 parameters), bf16 copy sharded over 4 × 8 ranks, prompt 4096 + hint 1024 +
    response 4096, λ 0.5 decaying over 50 steps."""
    cfg = preflight.compose_config(["+experiment=table2/rlsd", "+scale=paper"])
    plan = "\n".join(preflight.plan_lines(cfg))
    total = 8.77e9 * 2
    assert f"host memory: {total / 1e9:.2f} GB in all, {total / 4 / 1e9:.2f} GB per node, {total / 32 / 1e9:.2f} GB per rank" in plan
    assert f"(fp32: {2 * total / 4 / 1e9:.2f} GB per node)" in plan
    assert "built-in table" in plan and "--params" in plan  # the hub id is not local here: it says so
    assert "longest teacher sequence: 9216 tokens" in plan
    assert "log_prob_max_token_len_per_gpu = 16384: fits" in plan
    assert "responses per step: 2048 (64 per data-parallel rank)" in plan
    assert "step 1: 0.500" in plan and "step 50: 0.010" in plan
    assert "λ = 0 from step 51: the teacher pass runs on steps 1–50 of 200" in plan
    released = "\n".join(preflight.plan_lines(preflight.compose_config(["+experiment=table2/rlsd_official", "+scale=paper"])))
    assert "λ = 0 from step 60: the teacher pass runs on steps 1–59" in released  # decay 60, offset 1
    fp32 = "\n".join(preflight.plan_lines(preflight.compose_config(
        ["+experiment=table2/rlsd", "+scale=paper", "algorithm.rlsd.teacher_dtype=fp32"])))
    assert f"{2 * total / 1e9:.2f} GB in all" in fp32 and "dtype: fp32 = algorithm.rlsd.teacher_dtype" in fp32
    live = "\n".join(preflight.plan_lines(preflight.compose_config(
        ["+experiment=table2/rlsd", "+scale=paper", "algorithm.rlsd.teacher=live"])))
    assert "no copy is held" in live and "host memory:" not in live


def test_params_override_and_unknown_model():
    cfg = preflight.compose_config(["+experiment=table2/rlsd", "+scale=paper", "actor_rollout_ref.model.path=org/unknown"])
    assert "pass --params N" in "\n".join(preflight.plan_lines(cfg))
    plan = "\n".join(preflight.plan_lines(cfg, params_override=1e9))
    assert "parameters: 1.00 B (--params)" in plan and "host memory: 2.00 GB in all" in plan


def test_local_model_is_counted_exactly_from_its_config(tiny_models):
    from transformers import AutoModelForCausalLM

    real = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(tiny_models["text"]).parameters())
    count, source = preflight.count_params(tiny_models["text"], None)
    assert count == real and "config.json" in source


def test_cli_paper_scale_prints_the_plan_and_a_failure_exits_1(tiny_models):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    run = lambda *a: subprocess.run([sys.executable, "-m", "rlsd_verl.preflight", *a],  # noqa: E731
                                    capture_output=True, text=True, env=env, timeout=600)
    ok = run("+experiment=table2/rlsd", "+scale=paper")
    assert ok.returncode == 0, ok.stdout + ok.stderr[-3000:]
    assert "all checks passed (Ray was not started)" in ok.stdout and "teacher copy" in ok.stdout
    assert re.search(r"torch +\S+ +pin ==", ok.stdout)
    bad = run("+experiment=table2/rlsd", "+scale=cpu", *CPU_DATA, f"actor_rollout_ref.model.path={tiny_models['text']}",
              "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz=True", "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=64")
    assert bad.returncode == 1, bad.stdout + bad.stderr[-3000:]
    assert "FAIL RLSD settings" in bad.stdout and "log_prob_max_token_len_per_gpu=64" in bad.stdout
    assert "TOO SMALL" in bad.stdout and "dtype: fp32 = the actor's compute dtype" in bad.stdout  # CPU preset: fp32
    assert "config.json" in bad.stdout  # a local model: counted from its config
    assert "λ = 0 from step 51, after the run's 2 steps: the teacher pass runs every step" in bad.stdout
