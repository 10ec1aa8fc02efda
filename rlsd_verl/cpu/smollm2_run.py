"""Runs of ``rlsd_verl.main`` on the real SmolLM2-135M-Instruct and the addition task (CPU backend).

Shared by the end-to-end tests and ``benchmarks/learning_curves.py``: the model and data assets, and the
overrides of a small CPU run (llama architecture, ``hf`` rollout, verl's remove-padding path on, the task's
0/1 verifier as the reward). Launch with :func:`rlsd_verl.cpu.tiny_run.run_main`.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = "tiny"  # the project name tiny_run's metric reader expects


def smollm2_assets(data_dir: str | Path, model_dir: str | Path | None = None, n_train: int = 256, n_val: int | None = None,
                   seed: int = 0, task: str = "single") -> tuple[str, str, str]:
    """``(model_dir, train.parquet, val.parquet)``: the converted model (cached) and the addition ``task``.

    ``n_val`` defaults to the task's held-out set (:data:`rlsd_verl.assets.addition.TASKS`).
    """
    from rlsd_verl.assets.addition import TASKS

    from rlsd_verl.assets.addition import write_addition_dataset
    from rlsd_verl.assets.smollm2 import build_smollm2

    model = build_smollm2(model_dir)
    if task not in TASKS:
        raise ValueError(f"task={task!r} is not one of the addition tasks {sorted(TASKS)}")
    n_val = TASKS[task]["n_val"] if n_val is None else n_val
    train, val = write_addition_dataset(data_dir, n_train=n_train, n_val=n_val, seed=seed, task=task)
    return model, train, val


def smollm2_run_overrides(
    model_dir: str, train: str, val: str, out_dir: Path, experiment: str, *,
    prompts_per_step: int = 4, rollout_n: int = 4, max_response_length: int = 24, lr: float = 1e-5, seed: int = 0,
) -> list[str]:
    """Hydra overrides for a SmolLM2 run on the CPU backend (``prompts_per_step`` × ``rollout_n`` responses)."""
    responses = prompts_per_step * rollout_n
    micro = max(d for d in range(1, min(responses, 16) + 1) if responses % d == 0)  # verl: must divide the batch
    return [
        "preset=cpu",
        f"data.train_files={train}",
        f"data.val_files={val}",
        f"data.train_batch_size={prompts_per_step}",
        "data.max_prompt_length=128",
        f"data.max_response_length={max_response_length}",
        f"data.seed={seed}",
        f"actor_rollout_ref.model.path={model_dir}",
        "actor_rollout_ref.model.use_remove_padding=True",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={prompts_per_step}",
        f"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu={micro}",
        "actor_rollout_ref.actor.use_kl_loss=False",
        "actor_rollout_ref.actor.entropy_coeff=0",
        f"actor_rollout_ref.actor.optim.lr={lr}",
        f"actor_rollout_ref.rollout.n={rollout_n}",
        f"actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu={micro}",
        f"actor_rollout_ref.rollout.seed={seed}",
        "reward.custom_reward_function.path=pkg://rlsd_verl.rewards.final_number",
        "reward.custom_reward_function.name=compute_score",
        "trainer.logger=[console,file]",
        f"trainer.project_name={PROJECT}",
        f"trainer.experiment_name={experiment}",
        f"trainer.default_local_dir={Path(out_dir) / 'ckpt'}",
        "trainer.val_before_train=False",
        "trainer.save_freq=-1",
        "trainer.test_freq=-1",
    ]
