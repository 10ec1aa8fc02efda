"""The learning-curve benchmark's pure parts: methods, per-step series, and the addition tasks it trains on."""

import importlib.util
from pathlib import Path

import pytest

from rlsd_verl.assets.addition import TASKS, make_rows, split_items

_spec = importlib.util.spec_from_file_location(
    "learning_curves", Path(__file__).resolve().parents[2] / "benchmarks" / "learning_curves.py"
)
lc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lc)


def test_methods_map_to_estimator_overrides():
    assert lc.method_overrides("grpo") == ["algorithm.adv_estimator=grpo"]
    assert lc.method_overrides("rlsd_neg") == ["algorithm.adv_estimator=rlsd", "algorithm.rlsd.negative_only=True"]
    assert lc.method_overrides("opsd") == ["algorithm.adv_estimator=opsd"]


def test_step_series_keeps_training_steps_only():
    metrics = {
        0: {"val-core/x/acc/mean@1": 0.1},
        1: {"timing_s/step": 30.0, "critic/score/mean": 0.25, "response_length/mean": 12.0,
            "failure/truncated_frac": 0.5},
        2: {"timing_s/step": 28.0, "response_length/mean": 10.0},
    }
    rows = lc.step_series(metrics)
    assert [r["step"] for r in rows] == [1, 2]
    assert rows[0]["train_acc"] == 0.25 and rows[0]["response_length"] == 12.0 and rows[0]["step_time_s"] == 30.0
    assert rows[0]["truncated_frac"] == 0.5 and rows[1]["train_acc"] is None


def test_truncated_share_without_failure_metrics():
    """GRPO runs log no failure/*: verl's clip_ratio counts only when the longest response hit the limit."""
    at_limit = {"timing_s/step": 1.0, "response_length/max": 32, "response_length/clip_ratio": 0.75}
    short = {"timing_s/step": 1.0, "response_length/max": 12, "response_length/clip_ratio": 1.0}  # all 12 long
    rows = lc.step_series({1: at_limit, 2: short}, max_response_length=32)
    assert [r["truncated_frac"] for r in rows] == [0.75, 0.0]
    assert lc.step_series({1: short})[0]["truncated_frac"] is None  # limit unknown: not guessed


@pytest.mark.parametrize("task", sorted(TASKS))
def test_addition_tasks_hold_out_their_questions(task):
    train, val = split_items(task)
    assert len(val) == TASKS[task]["n_val"] and not set(train) & set(val)
    held_out = make_rows("val", len(val), task=task)
    questions = {r["prompt"][0]["content"] for r in held_out}
    assert len(questions) == len(val)
    assert not questions & {r["prompt"][0]["content"] for r in make_rows("train", 200, seed=1, task=task)}
    for row, ops in zip(held_out, val):
        assert row["reward_model"]["ground_truth"] == str(sum(ops))
    with pytest.raises(ValueError, match="addition task"):
        split_items("four")


def test_run_settings_hold_no_machine_paths(tmp_path):
    """Stored settings must match between machines: the run folder and the model folder are placeholders."""
    from rlsd_verl.cpu.smollm2_run import smollm2_run_overrides

    def settings(root):
        model, out = str(root / "home" / "model"), root / "runs"
        overrides = smollm2_run_overrides(model, str(out / "data" / "train.parquet"), str(out / "data" / "val.parquet"),
                                          out / "grpo_seed0", "grpo_seed0") + lc.method_overrides("grpo")
        return lc.run_settings(overrides, out, model)

    a, b = settings(tmp_path / "a"), settings(tmp_path / "b")
    assert a == b
    text = " ".join(a["overrides"])
    assert str(tmp_path) not in text and "actor_rollout_ref.model.path=MODEL" in text and "RUNS/data/train.parquet" in text
