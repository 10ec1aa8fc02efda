"""Table 2 as Hydra configs: every row × scale composes with the paper's settings (no training).

The settings are checked on the config ``python -m rlsd_verl.main +scale=S +experiment=table2/R``
composes (``hydra.initialize_config_module`` + ``compose``), then run through verl's and RLSD's
config checks. The launchers (``recipes/table2/*.sh`` → ``python -m rlsd_verl.recipes``) are checked
for their header, their size and the paths they add.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import warnings

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from rlsd_verl import recipes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLE2 = os.path.join(ROOT, "recipes", "table2")
ROWS = ("grpo", "opsd", "grpo_opsd", "sdpo", "rlsd")
SCALES = ("paper", "single_node", "smoke", "cpu")

# The paper's Table 2 (§6.1): MMMU, MathVista, MathVision, ZeroBench, WeMath, Avg.
PAPER = {
    "base": (62.44, 73.80, 47.37, 19.76, 54.10, 51.49),
    "grpo": (65.11, 76.20, 48.82, 22.60, 56.57, 53.86),
    "opsd": (63.82, 75.10, 47.53, 21.06, 54.95, 52.49),
    "sdpo": (65.11, 74.00, 47.27, 25.15, 52.19, 52.74),
    "grpo_opsd": (63.22, 75.90, 48.52, 22.16, 54.76, 52.91),
    "rlsd": (67.22, 78.10, 52.73, 24.85, 58.00, 56.18),
}
LR = {"grpo": 1e-6, "opsd": 1e-5, "grpo_opsd": 1e-6, "sdpo": 1e-5, "rlsd": 1e-6}
# Every training row, every scale (§5.1)
PAPER_SETTINGS = {
    "algorithm.use_kl_in_reward": False,
    "actor_rollout_ref.actor.use_kl_loss": False,
    "actor_rollout_ref.actor.entropy_coeff": 0,
    "actor_rollout_ref.actor.clip_ratio_low": 0.2,
    "actor_rollout_ref.actor.clip_ratio_high": 0.28,
    "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
    "actor_rollout_ref.actor.ppo_epochs": 1,
    "actor_rollout_ref.rollout.temperature": 1.0,
}
PAPER_RUN = {
    "trainer.nnodes": 4,
    "trainer.n_gpus_per_node": 8,
    "data.train_batch_size": 256,
    "actor_rollout_ref.actor.ppo_mini_batch_size": 256,  # one optimizer step per trainer step
    "actor_rollout_ref.rollout.n": 8,
    "data.max_prompt_length": 4096,
    "data.max_response_length": 4096,
    "trainer.total_training_steps": 200,
    "trainer.test_freq": 5,
    "trainer.val_before_train": True,
    "actor_rollout_ref.rollout.name": "vllm",
    "actor_rollout_ref.actor.strategy": "fsdp2",
    "actor_rollout_ref.model.path": "Qwen/Qwen3-VL-8B-Instruct",
    "reward.custom_reward_function.path": "pkg://rlsd_verl.rewards",
}
RLSD_PAPER = {"lambda_init": 0.5, "decay_steps": 50, "warmup_steps": 0, "lambda_step_offset": 0, "clip_eps": 0.2,
              "teacher": "sync", "sync_interval": 10, "hint_key": "reward_model.ground_truth", "teacher_prompt": "paper"}
RLSD_RELEASED = RLSD_PAPER | {"decay_steps": 60, "lambda_step_offset": 1, "sync_interval": 20,
                              "teacher_prompt": "official"}
CPU_PATHS = ["data.train_files=/a/train.parquet", "data.val_files=/a/val.parquet", "actor_rollout_ref.model.path=/a/m"]


def composed(*overrides: str):
    with initialize_config_module("rlsd_verl.config", version_base=None):
        return compose("rlsd_trainer", overrides=list(overrides))


def _assert_subset(cfg, expected: dict) -> None:
    wrong = {k: (OmegaConf.select(cfg, k), v) for k, v in expected.items() if OmegaConf.select(cfg, k) != v}
    assert not wrong, f"(got, expected): {wrong}"


@pytest.mark.parametrize("row", ROWS)
def test_paper_scale_has_the_papers_settings(row):
    cfg = composed(f"+experiment=table2/{row}", "+scale=paper")
    _assert_subset(cfg, PAPER_SETTINGS | PAPER_RUN | {"algorithm.adv_estimator": row,
                                                      "actor_rollout_ref.actor.optim.lr": LR[row]})


def test_rlsd_paper_and_released_settings():
    _assert_subset(composed("+experiment=table2/rlsd", "+scale=paper").algorithm.rlsd, RLSD_PAPER)
    released = composed("+experiment=table2/rlsd_official", "+scale=paper")
    _assert_subset(released.algorithm.rlsd, RLSD_RELEASED)
    paper = composed("+experiment=table2/rlsd", "+scale=paper")
    # only the λ schedule, the sync interval, the prompt and the run's name differ
    diff = {k for k in OmegaConf.to_container(paper.algorithm.rlsd)
            if paper.algorithm.rlsd[k] != released.algorithm.rlsd[k]}
    assert diff == {"decay_steps", "lambda_step_offset", "sync_interval", "teacher_prompt"}
    p, r = OmegaConf.to_container(paper), OmegaConf.to_container(released)
    p.pop("algorithm"), r.pop("algorithm")
    p["trainer"].pop("experiment_name"), r["trainer"].pop("experiment_name")
    assert p == r


def test_baseline_settings():
    for row in ("opsd", "grpo_opsd"):
        rlsd = composed(f"+experiment=table2/{row}", "+scale=paper").algorithm.rlsd
        assert rlsd.hint_key == "extra_info.reference_solution" and rlsd.max_hint_tokens == 4096
    assert composed("+experiment=table2/grpo_opsd").algorithm.rlsd.beta == 1.0
    _assert_subset(composed("+experiment=table2/sdpo").algorithm.rlsd, {
        "sdpo_success_threshold": 0.9, "sdpo_selection": "shortest", "sdpo_feedback": True, "max_hint_tokens": 8192})


@pytest.mark.parametrize("row", ROWS)
def test_experiment_and_scale_commute(row):
    a = composed(f"+experiment=table2/{row}", "+scale=smoke")
    b = composed("+scale=smoke", f"+experiment=table2/{row}")
    assert OmegaConf.to_container(a) == OmegaConf.to_container(b)


def test_smaller_scales():
    single = composed("+experiment=table2/rlsd", "+scale=single_node")
    _assert_subset(single, PAPER_SETTINGS | (PAPER_RUN | {"trainer.nnodes": 1}))
    smoke = composed("+experiment=table2/rlsd", "+scale=smoke")
    _assert_subset(smoke, PAPER_SETTINGS | {"trainer.nnodes": 1, "trainer.n_gpus_per_node": 1,
                                            "actor_rollout_ref.rollout.n": 8, "actor_rollout_ref.rollout.name": "vllm"})
    assert "2B" in smoke.actor_rollout_ref.model.path and smoke.trainer.total_training_steps <= 10
    assert smoke.actor_rollout_ref.actor.ppo_mini_batch_size == smoke.data.train_batch_size == 8
    _assert_subset(smoke.algorithm.rlsd, RLSD_PAPER)


@pytest.mark.parametrize("row", ROWS)
def test_cpu_scale_keeps_the_method(row):
    cpu = composed(f"+experiment=table2/{row}", "+scale=cpu", *CPU_PATHS)
    paper = composed(f"+experiment=table2/{row}", "+scale=paper")
    assert cpu.algorithm == paper.algorithm
    _assert_subset(cpu, PAPER_SETTINGS | {
        "trainer.device": "cpu", "actor_rollout_ref.rollout.name": "hf", "trainer.total_training_steps": 2,
        "actor_rollout_ref.rollout.n": 2, "data.train_batch_size": 4, "actor_rollout_ref.actor.optim.lr": LR[row],
        "reward.custom_reward_function.path": "pkg://rlsd_verl.assets.toy_reward"})


def test_base_is_an_evaluation_and_wins_over_the_scale():
    cfg = composed("+scale=single_node", "+experiment=table2/base")
    _assert_subset(cfg, {"trainer.val_only": True, "trainer.val_before_train": True, "actor_rollout_ref.rollout.n": 1,
                         "actor_rollout_ref.rollout.val_kwargs.do_sample": False,
                         "actor_rollout_ref.rollout.val_kwargs.temperature": 0, "trainer.nnodes": 1,
                         "reward.custom_reward_function.reward_kwargs.format_weight": 0.0,
                         "data.max_response_length": 4096, "actor_rollout_ref.model.path": "Qwen/Qwen3-VL-8B-Instruct"})


def test_every_row_and_scale_passes_verls_and_rlsds_checks():
    pytest.importorskip("verl")
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    from rlsd_verl import plugin
    from rlsd_verl.config_checks import check_trainer_config
    from rlsd_verl.trainer.estimators import ENTRY_ENV, ESTIMATOR_NAMES

    plugin.load()
    old = os.environ.get(ENTRY_ENV)
    os.environ[ENTRY_ENV] = "1"  # what python -m rlsd_verl.main sets before validating
    try:
        for row in (*ROWS, "rlsd_official", "base"):
            for scale in SCALES:
                cfg = composed(f"+scale={scale}", f"+experiment=table2/{row}", *(CPU_PATHS if scale == "cpu" else ()))
                with warnings.catch_warnings():
                    # no departure from the paper's setup at full size (smoke and cpu are too short to sync)
                    warnings.simplefilter("error" if scale in ("paper", "single_node") else "ignore")
                    if cfg.algorithm.adv_estimator in ESTIMATOR_NAMES:
                        check_trainer_config(cfg)
                validate_config(config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    finally:
        if old is None:
            os.environ.pop(ENTRY_ENV, None)
        else:
            os.environ[ENTRY_ENV] = old


# ---------------------------------------------------------------------------------------------- launchers


@pytest.mark.parametrize("row", (*ROWS, "base"))
def test_launcher_is_a_few_lines_with_a_header(row):
    text = open(os.path.join(TABLE2, f"{row}.sh"), encoding="utf-8").read()
    header, _, body = text.partition("set -euo pipefail\n")
    assert text.startswith("#!/usr/bin/env bash\n")
    for field in ("# Reproduces:", "# Paper numbers:", "# Hardware:", "# Expected time:", "# Launch:"):
        assert field in header, f"{row}.sh header lacks {field!r}"
    numbers = re.search(r"# Paper numbers:(.*)", header).group(1)
    assert tuple(float(x) for x in re.findall(r"\d+\.\d\d", numbers)) == PAPER[row]
    assert f"bash recipes/table2/{row}.sh" in header and f"experiment=table2/{row}" in header
    assert [ln for ln in body.splitlines() if ln.strip()] == [
        f'exec "${{PYTHON:-python}}" -m rlsd_verl.recipes {row} "$@"']
    assert not re.search(r"(/work/|/home/|/root/|/Users/)", text)


def test_no_shell_option_parser_left():
    assert not os.path.exists(os.path.join(TABLE2, "common.sh"))
    for name in os.listdir(TABLE2):
        if name.endswith(".sh"):
            assert "while [[ $# -gt 0 ]]" not in open(os.path.join(TABLE2, name)).read(), name


def _dry_run(*args, **env) -> tuple[list[str], str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OUTPUT_DIR", "EXPERIMENT", "DATA_DIR", "TRAIN_FILES", "VAL_FILES", "MODEL_PATH", "ASSETS_DIR",
                          "EVAL_DATA_DIR", "EVAL_FILES")}
    res = subprocess.run(["bash", *args, "--dry-run"], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=clean | {"PYTHON": sys.executable} | env)
    assert res.returncode == 0, res.stderr
    main = [ln for ln in res.stdout.splitlines() if " -m rlsd_verl.main " in ln]
    assert len(main) == 1, res.stdout
    tokens = shlex.split(main[0])
    return tokens[tokens.index("rlsd_verl.main") + 1:], res.stdout


def test_launcher_dry_run_composes_the_experiment_with_absolute_paths(tmp_path):
    overrides, _ = _dry_run(os.path.join(TABLE2, "rlsd.sh"), "trainer.total_training_steps=400",
                            OUTPUT_DIR="runs/x", DATA_DIR="d")
    assert overrides[:2] == ["+scale=paper", "+experiment=table2/rlsd"]
    assert overrides[-1] == "trainer.total_training_steps=400"  # the user's overrides come last
    settings = dict(o.split("=", 1) for o in overrides[2:])
    assert settings["data.train_files"] == f"[{ROOT}/d/mmfinereason_train.parquet]"
    assert settings["trainer.default_local_dir"] == f"{ROOT}/runs/x/checkpoints"
    cfg = composed(*[o for o in overrides if not o.startswith("hydra.")])
    assert cfg.trainer.total_training_steps == 400 and cfg.trainer.experiment_name == "rlsd"


def test_launcher_official_flag_and_scales():
    overrides, _ = _dry_run(os.path.join(TABLE2, "rlsd.sh"), "--official", "--smoke")
    assert overrides[:2] == ["+scale=smoke", "+experiment=table2/rlsd_official"]
    assert "trainer.experiment_name=rlsd_official_smoke" in overrides
    res = subprocess.run(["bash", os.path.join(TABLE2, "grpo.sh"), "--official", "--dry-run"], capture_output=True,
                         text=True, env=dict(os.environ, PYTHON=sys.executable), timeout=300)
    assert res.returncode == 2 and "only for the rlsd row" in res.stderr


def test_launcher_cpu_scale_builds_the_assets_first():
    overrides, out = _dry_run(os.path.join(TABLE2, "grpo.sh"), "--cpu", OUTPUT_DIR="/r/g")
    assert "-m rlsd_verl.assets --out /r/g/assets" in out
    assert "actor_rollout_ref.model.path=/r/g/assets/qwen2_5_vl" in overrides
    assert "data.train_files=[/r/g/assets/data/vl/train.parquet]" in overrides


def test_launcher_base_evaluates_then_aggregates(tmp_path):
    (tmp_path / "mmmu.parquet").write_bytes(b"")
    overrides, out = _dry_run(os.path.join(TABLE2, "base.sh"), EVAL_DATA_DIR=str(tmp_path), OUTPUT_DIR="/r/b")
    assert overrides[:2] == ["+scale=single_node", "+experiment=table2/base"]
    assert f"data.val_files=[{tmp_path}/mmmu.parquet]" in overrides
    assert "rlsd_verl.eval.aggregate /r/b/generations --out /r/b/eval.json --name base" in out


def test_missing_inputs_name_the_variable(tmp_path, capsys):
    env = {"TRAIN_FILES": str(tmp_path / "missing.parquet"), "VAL_FILES": str(tmp_path / "v.parquet")}
    with pytest.raises(SystemExit) as info:
        recipes.run(recipes.plan("rlsd", "paper", env=env))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "TRAIN_FILES: file not found" in err and "missing.parquet" in err and "VAL_FILES" in err
    with pytest.raises(SystemExit):
        recipes.run(recipes.plan("base", "single_node", env={"EVAL_DATA_DIR": str(tmp_path / "none")}))
    assert "EVAL_DATA_DIR" in capsys.readouterr().err


def test_reproduce_dry_run_lists_every_step(tmp_path):
    res = subprocess.run(["bash", os.path.join(ROOT, "recipes", "reproduce_table2.sh"), "--cpu", "--dry-run"],
                         capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PYTHON=sys.executable, OUTPUT_ROOT=str(tmp_path / "t2"), METHODS="grpo rlsd"))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for row in ("grpo", "rlsd"):
        assert f"+experiment=table2/{row} " in out and "trainer.save_freq=2" in out
        assert f"--local_dir {tmp_path}/t2/{row}/checkpoints/global_step_" in out
    assert "+experiment=table2/opsd" not in out
    assert out.count("+experiment=table2/base") == 3  # the base model, then each trained row
    assert not (tmp_path / "t2").exists(), "--dry-run must not create anything"


def test_reproduce_options_are_parsed_by_the_row_launcher():
    from rlsd_verl.recipes import table2_shell_options

    out = table2_shell_options(["--cpu", "--dry-run", "a=b c", "x=1"]).splitlines()
    assert out == ["mode=cpu dry_run=1 show_help=0", "mode_flag=(--cpu)", "extra=('a=b c' x=1)"]
    assert table2_shell_options(["--single-node"]).splitlines()[:2] == [
        "mode=single-node dry_run=0 show_help=0", "mode_flag=(--single-node)"]
    assert table2_shell_options([]).splitlines() == ["mode=full dry_run=0 show_help=0", "mode_flag=()", "extra=()"]
    with pytest.raises(SystemExit):
        table2_shell_options(["--cpu", "--smoke"])
    res = subprocess.run(["bash", os.path.join(ROOT, "recipes", "reproduce_table2.sh"), "--bogus"],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHON=sys.executable))
    assert res.returncode == 2 and "unrecognized arguments: --bogus" in res.stderr
