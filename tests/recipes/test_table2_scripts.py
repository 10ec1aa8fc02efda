"""Fast checks of the Table 2 recipes (no training): syntax, headers, and the paper's settings.

``recipes/table2/<row>.sh --dry-run`` prints the exact ``python -m rlsd_verl.main`` command; these
tests parse it and assert the settings of the paper's runs (arXiv:2604.03128, §5.1), so a change to a
learning rate, batch size, length, clip value or step count is caught without a GPU. One test also
composes every printed command into verl's Hydra config and runs verl's and RLSD's config checks.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLE2 = os.path.join(ROOT, "recipes", "table2")
REPRODUCE = os.path.join(ROOT, "recipes", "reproduce_table2.sh")

ROWS = ("grpo", "opsd", "grpo_opsd", "sdpo", "rlsd")
SCRIPTS = [os.path.join(TABLE2, f"{r}.sh") for r in (*ROWS, "base", "common")] + [REPRODUCE]

# The paper's Table 2 (§6.1): MMMU, MathVista, MathVision, ZeroBench, WeMath, Avg.
PAPER = {
    "base": (62.44, 73.80, 47.37, 19.76, 54.10, 51.49),
    "grpo": (65.11, 76.20, 48.82, 22.60, 56.57, 53.86),
    "opsd": (63.82, 75.10, 47.53, 21.06, 54.95, 52.49),
    "sdpo": (65.11, 74.00, 47.27, 25.15, 52.19, 52.74),
    "grpo_opsd": (63.22, 75.90, 48.52, 22.16, 54.76, 52.91),
    "rlsd": (67.22, 78.10, 52.73, 24.85, 58.00, 56.18),
}
LR = {"grpo": "1e-6", "opsd": "1e-5", "grpo_opsd": "1e-6", "sdpo": "1e-5", "rlsd": "1e-6"}

# Every row, every GPU mode: the paper's optimisation settings.
PAPER_SETTINGS = {
    "algorithm.use_kl_in_reward": "False",
    "actor_rollout_ref.actor.use_kl_loss": "False",
    "actor_rollout_ref.actor.entropy_coeff": "0",
    "actor_rollout_ref.actor.clip_ratio_low": "0.2",
    "actor_rollout_ref.actor.clip_ratio_high": "0.28",
    "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
    "actor_rollout_ref.actor.ppo_epochs": "1",
    "actor_rollout_ref.rollout.temperature": "1.0",
}
FULL_RUN = {
    "data.train_batch_size": "256",
    "actor_rollout_ref.actor.ppo_mini_batch_size": "256",
    "actor_rollout_ref.rollout.n": "8",
    "data.max_prompt_length": "4096",
    "data.max_response_length": "4096",
    "trainer.total_training_steps": "200",
    "trainer.test_freq": "5",
    "trainer.val_before_train": "True",
    "actor_rollout_ref.rollout.name": "vllm",
    "actor_rollout_ref.actor.strategy": "fsdp2",
    "actor_rollout_ref.model.path": "Qwen/Qwen3-VL-8B-Instruct",
    "reward.custom_reward_function.path": "pkg://rlsd_verl.rewards",
}
RLSD_SETTINGS = {
    "algorithm.rlsd.lambda_init": "0.5",
    "algorithm.rlsd.decay_steps": "50",
    "algorithm.rlsd.warmup_steps": "0",
    "algorithm.rlsd.clip_eps": "0.2",
    "algorithm.rlsd.teacher": "sync",
    "algorithm.rlsd.sync_interval": "10",
    "algorithm.rlsd.hint_key": "reward_model.ground_truth",
}
HEADER_FIELDS = ("# Reproduces:", "# Paper numbers:", "# Hardware:", "# Expected time:", "# Launch:")

# The variables a row reads; cleared so the caller's environment cannot change the defaults under test.
ENV_KNOBS = ("NNODES", "GPUS_PER_NODE", "MODEL_PATH", "DATA_DIR", "TRAIN_FILES", "VAL_FILES", "EXPERIMENT",
             "PROJECT", "OUTPUT_DIR", "LOGGER", "SAVE_FREQ", "MAX_CKPT_TO_KEEP", "ROLLOUT_TP",
             "GPU_MEMORY_UTILIZATION", "MAX_TOKEN_LEN_PER_GPU", "OFFLOAD", "ATTN_IMPL", "ASSETS_DIR",
             "CPU_MODEL_PATH", "HINT_KEY", "MAX_HINT_TOKENS", "BETA", "OUTPUT_ROOT", "METHODS", "EVAL_DATA_DIR",
             "EVAL_FILES", "RUN_NAME", "KEEP_GOING", "SKIP_BASE", "FROM_HUB", "MMFINEREASON_INPUT",
             "BENCHMARKS_ROOT", "PYTHON")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KNOBS}
    env["PYTHON"] = sys.executable
    env.update(extra)
    return env


def _bash(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", *args], capture_output=True, text=True, env=env or _env(), cwd=cwd or ROOT,
                          timeout=120)


def dry_run(row: str, *args, **env) -> tuple[list[str], dict[str, str], str]:
    """(overrides in order, effective settings (last wins, + / ++ stripped), the printed line)."""
    res = _bash(os.path.join(TABLE2, f"{row}.sh"), "--dry-run", *args, env=_env(**env))
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == 1, res.stdout
    tokens = shlex.split(lines[0])
    assert tokens[0].startswith("VERL_FILE_LOGGER_ROOT="), tokens[:3]
    assert tokens[1:4] == [sys.executable, "-m", "rlsd_verl.main"], tokens[:4]
    overrides = tokens[4:]
    settings = {}
    for o in overrides:
        key, sep, value = o.partition("=")
        assert sep, f"not a Hydra override: {o!r}"
        settings[key.lstrip("+")] = value
    return overrides, settings, lines[0]


def _assert_subset(settings: dict, expected: dict) -> None:
    wrong = {k: (settings.get(k), v) for k, v in expected.items() if settings.get(k) != v}
    assert not wrong, f"(got, expected): {wrong}"


# ---------------------------------------------------------------------------------------------- syntax


@pytest.mark.parametrize("script", SCRIPTS, ids=os.path.basename)
def test_script_parses(script):
    res = subprocess.run(["bash", "-n", script], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_tiny_benchmarks_helper_compiles():
    import py_compile

    py_compile.compile(os.path.join(TABLE2, "tiny_benchmarks.py"), doraise=True)


# ---------------------------------------------------------------------------------------------- headers


@pytest.mark.parametrize("row", (*ROWS, "base"))
def test_row_header(row):
    path = os.path.join(TABLE2, f"{row}.sh")
    text = open(path, encoding="utf-8").read()
    header = text.split("set -euo pipefail", 1)[0]
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    for field in HEADER_FIELDS:
        assert field in header, f"{row}.sh header lacks {field!r}"
    numbers = re.search(r"# Paper numbers:(.*)", header).group(1)
    found = tuple(float(x) for x in re.findall(r"\d+\.\d\d", numbers))
    assert found == PAPER[row], f"{row}.sh paper numbers {found} != Table 2 {PAPER[row]}"
    assert f"bash recipes/table2/{row}.sh" in header, "the header shows how to launch it"
    if row != "base":
        assert "Table 2, row" in header and "--cpu" in header and "--smoke" in header and "--single-node" in header
    # no absolute path of a particular machine
    assert not re.search(r"(/work/|/home/|/root/|/Users/)", text)


def test_reproduce_header():
    text = open(REPRODUCE, encoding="utf-8").read()
    header = text.split("set -euo pipefail", 1)[0]
    for field in HEADER_FIELDS:
        assert field in header
    assert not re.search(r"(/work/|/home/|/root/|/Users/)", text)


@pytest.mark.parametrize("row", ROWS)
def test_help(row):
    res = _bash(os.path.join(TABLE2, f"{row}.sh"), "--help")
    assert res.returncode == 0, res.stderr
    assert "Reproduces:" in res.stdout and "--dry-run" in res.stdout and "MODEL_PATH" in res.stdout


# ---------------------------------------------------------------------------------------------- settings


@pytest.mark.parametrize("row", ROWS)
def test_dry_run_has_the_papers_settings(row):
    overrides, settings, _ = dry_run(row)
    _assert_subset(settings, PAPER_SETTINGS)
    _assert_subset(settings, FULL_RUN)
    _assert_subset(settings, {
        "algorithm.adv_estimator": row,
        "actor_rollout_ref.actor.optim.lr": LR[row],
        "trainer.nnodes": "4",
        "trainer.n_gpus_per_node": "8",
    })
    assert float(settings["actor_rollout_ref.actor.optim.lr"]) == float(LR[row])
    assert settings["data.train_files"].endswith("mmfinereason_train.parquet]")
    assert settings["data.val_files"].endswith("mmfinereason_val.parquet]")
    assert settings["trainer.experiment_name"] == row
    for key in ("trainer.default_local_dir", "hydra.run.dir"):
        assert os.path.isabs(settings[key]) and f"outputs/table2/{row}/" in settings[key] + "/"
    # every key is given once (a duplicate would make "last one wins" decide silently)
    keys = [o.partition("=")[0].lstrip("+") for o in overrides]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_rlsd_settings():
    _, settings, _ = dry_run("rlsd")
    _assert_subset(settings, RLSD_SETTINGS)


@pytest.mark.parametrize("row", ("opsd", "grpo_opsd"))
def test_opsd_hint_is_the_reference_solution_and_selectable(row):
    _, settings, _ = dry_run(row)
    assert settings["algorithm.rlsd.hint_key"] == "extra_info.reference_solution"
    _, settings, _ = dry_run(row, HINT_KEY="reward_model.ground_truth")
    assert settings["algorithm.rlsd.hint_key"] == "reward_model.ground_truth"


def test_sdpo_settings():
    _, settings, _ = dry_run("sdpo")
    _assert_subset(settings, {
        "algorithm.rlsd.sdpo_success_threshold": "0.9",  # a correct answer under 0.9·acc + 0.1·format
        "algorithm.rlsd.sdpo_selection": "shortest",
        "algorithm.rlsd.sdpo_feedback": "True",
        "algorithm.rlsd.max_hint_tokens": "8192",  # a demonstration and a feedback response, 4096 each
    })


def test_grpo_has_no_rlsd_settings():
    _, settings, _ = dry_run("grpo")
    assert not [k for k in settings if k.startswith("algorithm.rlsd")]


def test_grpo_opsd_beta():
    _, settings, _ = dry_run("grpo_opsd")
    assert settings["algorithm.rlsd.beta"] == "1.0"
    _, settings, _ = dry_run("grpo_opsd", BETA="0.25")
    assert settings["algorithm.rlsd.beta"] == "0.25"


def test_environment_parameters():
    _, s, line = dry_run("rlsd", NNODES="2", GPUS_PER_NODE="4", MODEL_PATH="/models/qwen3vl8b",
                         TRAIN_FILES="/d/a.parquet /d/b.parquet", VAL_FILES="/d/v.parquet",
                         OUTPUT_DIR="/runs/x", EXPERIMENT="rlsd_seed2", LOGGER="console,file,wandb")
    _assert_subset(s, {
        "trainer.nnodes": "2",
        "trainer.n_gpus_per_node": "4",
        "actor_rollout_ref.model.path": "/models/qwen3vl8b",
        "data.train_files": "[/d/a.parquet,/d/b.parquet]",
        "data.val_files": "[/d/v.parquet]",
        "trainer.experiment_name": "rlsd_seed2",
        "trainer.default_local_dir": "/runs/x/checkpoints",
        "trainer.logger": "[console,file,wandb]",
    })
    assert line.startswith("VERL_FILE_LOGGER_ROOT=/runs/x/metrics ")
    _assert_subset(s, FULL_RUN | {"actor_rollout_ref.model.path": "/models/qwen3vl8b"})


def test_relative_paths_become_absolute(tmp_path):
    res = _bash(os.path.join(TABLE2, "grpo.sh"), "--dry-run",
                env=_env(TRAIN_FILES="d/t.parquet", VAL_FILES="d/v.parquet", OUTPUT_DIR="runs/g"), cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr
    line = [ln for ln in res.stdout.splitlines() if not ln.startswith("#")][0]
    assert f"data.train_files=[{tmp_path}/d/t.parquet]" in shlex.split(line)
    assert f"trainer.default_local_dir={tmp_path}/runs/g/checkpoints" in shlex.split(line)


def test_single_node_keeps_the_global_batch():
    _, s, _ = dry_run("rlsd", "--single-node")
    _assert_subset(s, FULL_RUN | PAPER_SETTINGS | RLSD_SETTINGS)
    _assert_subset(s, {"trainer.nnodes": "1", "trainer.n_gpus_per_node": "8", "trainer.experiment_name": "rlsd_single"})


def test_smoke_is_one_gpu_small_model_few_steps():
    _, s, _ = dry_run("rlsd", "--smoke")
    _assert_subset(s, PAPER_SETTINGS | RLSD_SETTINGS)
    _assert_subset(s, {"trainer.nnodes": "1", "trainer.n_gpus_per_node": "1", "actor_rollout_ref.rollout.n": "8",
                       "actor_rollout_ref.rollout.name": "vllm", "trainer.experiment_name": "rlsd_smoke"})
    assert "2B" in s["actor_rollout_ref.model.path"] or "3B" in s["actor_rollout_ref.model.path"]
    assert int(s["data.train_batch_size"]) <= 32
    assert s["actor_rollout_ref.actor.ppo_mini_batch_size"] == s["data.train_batch_size"]
    assert int(s["trainer.total_training_steps"]) <= 10


@pytest.mark.parametrize("row", ROWS)
def test_cpu_mode_keeps_the_method_flags(row):
    _, full, _ = dry_run(row)
    _, cpu, _ = dry_run(row, "--cpu", OUTPUT_DIR="/tmp/x")
    assert cpu["preset"] == "cpu"
    _assert_subset(cpu, {"trainer.total_training_steps": "2", "actor_rollout_ref.rollout.n": "2",
                         "reward.custom_reward_function.path": "pkg://rlsd_verl.assets.toy_reward",
                         "actor_rollout_ref.model.path": "/tmp/x/assets/qwen2_5_vl",
                         "data.train_files": "/tmp/x/assets/data/vl/train.parquet"})
    method = {k: v for k, v in full.items() if k.startswith("algorithm.")} | PAPER_SETTINGS
    method["actor_rollout_ref.actor.optim.lr"] = LR[row]
    _assert_subset(cpu, method)
    assert not [k for k in cpu if k.startswith(("trainer.nnodes", "actor_rollout_ref.rollout.name"))]


def test_extra_arguments_come_last_and_win():
    overrides, s, _ = dry_run("grpo", "trainer.total_training_steps=400", "--", "trainer.experiment_name=grpo_400")
    assert overrides[-2:] == ["trainer.total_training_steps=400", "trainer.experiment_name=grpo_400"]
    assert s["trainer.total_training_steps"] == "400"


def test_attn_impl_sdpa_turns_off_remove_padding():
    _, s, _ = dry_run("grpo", ATTN_IMPL="sdpa")
    assert s["actor_rollout_ref.model.override_config.attn_implementation"] == "sdpa"
    assert s["actor_rollout_ref.model.use_remove_padding"] == "False"


# ---------------------------------------------------------------------------------------------- errors


def test_unknown_option_and_two_modes_fail():
    res = _bash(os.path.join(TABLE2, "rlsd.sh"), "--nope", "--dry-run")
    assert res.returncode == 2 and "unknown option --nope" in res.stderr
    res = _bash(os.path.join(TABLE2, "rlsd.sh"), "--cpu", "--smoke", "--dry-run")
    assert res.returncode == 2 and "at most one" in res.stderr


def test_missing_inputs_name_the_variable(tmp_path):
    res = _bash(os.path.join(TABLE2, "rlsd.sh"), env=_env(TRAIN_FILES=str(tmp_path / "missing.parquet")))
    assert res.returncode == 2
    assert "TRAIN_FILES" in res.stderr and "missing.parquet" in res.stderr
    train = tmp_path / "t.parquet"
    train.write_bytes(b"")
    res = _bash(os.path.join(TABLE2, "rlsd.sh"), env=_env(TRAIN_FILES=str(train), DATA_DIR=str(tmp_path / "nodata")))
    assert res.returncode == 2 and "VAL_FILES" in res.stderr
    res = _bash(os.path.join(TABLE2, "rlsd.sh"),
                env=_env(TRAIN_FILES=str(train), VAL_FILES=str(train), MODEL_PATH=str(tmp_path / "no_model")))
    assert res.returncode == 2 and "MODEL_PATH" in res.stderr
    res = _bash(os.path.join(TABLE2, "base.sh"), env=_env(EVAL_DATA_DIR=str(tmp_path / "nodata")))
    assert res.returncode == 2 and "EVAL_DATA_DIR" in res.stderr


def test_reproduce_without_data_source_names_the_variables(tmp_path):
    res = _bash(REPRODUCE, env=_env(DATA_DIR=str(tmp_path), OUTPUT_ROOT=str(tmp_path / "out")))
    assert res.returncode == 2
    assert "MMFINEREASON_INPUT" in res.stderr and "FROM_HUB" in res.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------- base / reproduce


def test_base_dry_run():
    res = _bash(os.path.join(TABLE2, "base.sh"), "--dry-run")
    assert res.returncode == 0, res.stderr
    tokens = shlex.split([ln for ln in res.stdout.splitlines() if not ln.startswith("#")][-1])
    assert tokens[0] == "env" and "RUN_NAME=base" in tokens and "N_GPUS=8" in tokens
    i = tokens.index("bash")
    assert tokens[i + 1].endswith("recipes/eval/evaluate.sh")
    assert tokens[i + 2] == "Qwen/Qwen3-VL-8B-Instruct"


def test_reproduce_dry_run_lists_every_step(tmp_path):
    res = _bash(REPRODUCE, "--dry-run", env=_env(OUTPUT_ROOT=str(tmp_path / "t2"), DATA_DIR=str(tmp_path / "d")))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "data_prep/mmfinereason.py" in out and "data_prep/paper_benchmarks.py" in out
    assert f"RUN_NAME=base" in out
    for row in ROWS:
        assert f"algorithm.adv_estimator={row} " in out, row
        assert f"--local_dir {tmp_path}/t2/{row}/checkpoints/global_step_" in out
        assert f"RUN_NAME={row} " in out
    assert out.count("verl.model_merger merge --backend fsdp") == len(ROWS)
    report = [ln for ln in out.splitlines() if "rlsd_verl.report" in ln]
    assert len(report) == 1
    for row in ("base", *ROWS):
        assert f"{tmp_path}/t2/{row} " in report[0]
    assert not (tmp_path / "t2").exists(), "--dry-run must not create anything"


def test_reproduce_methods_subset_and_bad_method(tmp_path):
    env = _env(OUTPUT_ROOT=str(tmp_path / "t2"), METHODS="grpo rlsd", SKIP_BASE="1")
    res = _bash(REPRODUCE, "--cpu", "--dry-run", env=env)
    assert res.returncode == 0, res.stderr
    assert "algorithm.adv_estimator=grpo " in res.stdout and "algorithm.adv_estimator=rlsd " in res.stdout
    assert "algorithm.adv_estimator=opsd" not in res.stdout and "RUN_NAME=base" not in res.stdout
    assert "preset=cpu" in res.stdout and "trainer.save_freq=2" in res.stdout
    res = _bash(REPRODUCE, "--dry-run", env=_env(METHODS="grpo ppo"))
    assert res.returncode == 2 and "METHODS" in res.stderr


# ---------------------------------------------------------------------------------------------- config


def test_every_dry_run_composes_into_a_valid_verl_config():
    """The printed overrides compose with rlsd_verl's Hydra config and pass verl's and RLSD's checks."""
    pytest.importorskip("verl")
    pytest.importorskip("hydra")
    import rlsd_verl
    from hydra import compose, initialize_config_dir
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    from rlsd_verl.algos.config import RLSDConfig
    from rlsd_verl.trainer.estimators import ENTRY_ENV, ESTIMATOR_NAMES

    from rlsd_verl import main as rlsd_main
    from rlsd_verl import plugin

    plugin.load()  # registers the estimator names in verl (import verl does it through the entry point)
    config_dir = os.path.join(os.path.dirname(rlsd_verl.__file__), "config")
    old = os.environ.get(ENTRY_ENV)
    os.environ[ENTRY_ENV] = "1"  # what python -m rlsd_verl.main sets before validating
    try:
        for row in ROWS:
            for mode in ((), ("--single-node",), ("--smoke",), ("--cpu",)):
                overrides, _, _ = dry_run(row, *mode)
                overrides = [o for o in overrides if not o.startswith("hydra.")]
                with initialize_config_dir(config_dir=config_dir, version_base=None):
                    cfg = compose("rlsd_trainer", overrides=overrides)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if row in ESTIMATOR_NAMES:
                        rlsd_cfg = RLSDConfig.from_config(cfg.algorithm)
                        rlsd_cfg.validate_against_trainer_config(cfg)
                    validate_config(config=cfg, use_reference_policy=need_reference_policy(cfg),
                                    use_critic=need_critic(cfg))
                    if row in ESTIMATOR_NAMES and hasattr(rlsd_main, "check_teacher_token_budget"):
                        # the longest teacher sequence fits the dynamic-batching token budget
                        rlsd_main.check_teacher_token_budget(cfg, rlsd_cfg.max_hint_tokens)
                assert cfg.actor_rollout_ref.actor.optim.lr == float(LR[row])
                assert cfg.actor_rollout_ref.actor.clip_ratio_high == 0.28
    finally:
        if old is None:
            os.environ.pop(ENTRY_ENV, None)
        else:
            os.environ[ENTRY_ENV] = old
