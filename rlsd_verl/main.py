"""``python -m rlsd_verl.main``: verl 0.9.1's PPO entry point with RLSD layered on.

Every ``python -m verl.trainer.main_ppo`` flag works unchanged. What this entry adds:

* ``algorithm.adv_estimator=rlsd`` (and the baselines ``opsd``, ``grpo_opsd``, ``sdpo``):
  the V1 "sync" trainer is replaced by :class:`rlsd_verl.trainer.rlsd_trainer.RLSDTrainer`,
  which adds the teacher pass; settings live under ``algorithm.rlsd.*``
  (:class:`rlsd_verl.algos.config.RLSDConfig`). Any other estimator runs verl's own trainer.
* ``preset=cpu``: the CPU backend (``trainer.device=cpu`` plus what a CPU run needs).

Before Ray starts it checks what would otherwise fail late or hang: the plugin is
registered, the RLSD settings are valid for this run, and TransferQueue's storage units
fit into Ray's CPUs.
"""

from __future__ import annotations

import os

import hydra
from omegaconf import DictConfig, OmegaConf

from rlsd_verl import plugin
from rlsd_verl.trainer.estimators import ENTRY_ENV, ESTIMATOR_NAMES

PLUGIN_MODULE = "rlsd_verl.plugin"


def _export_plugin_env() -> None:
    """Make every Ray process load the plugin through verl's loud module hook too."""
    os.environ[ENTRY_ENV] = "1"
    # first: the user's own modules may import verl code that resolves the device platform,
    # which must find ours (`cpu`) registered already
    modules = [m for m in os.environ.get("VERL_USE_EXTERNAL_MODULES", "").split(",") if m and m != PLUGIN_MODULE]
    os.environ["VERL_USE_EXTERNAL_MODULES"] = ",".join([PLUGIN_MODULE, *modules])


def required_ray_cpus(config: DictConfig) -> int:
    """Logical Ray CPUs the V1 trainer reserves before it can make progress.

    TransferQueue: one controller and one actor per storage unit, 1 CPU each; the
    TaskRunner: 1; each trainer bundle: 3 (verl's ``max_colocate_count``); agent-loop and
    reward workers: 1 each.
    """
    units = int(OmegaConf.select(config, "transfer_queue.backend.SimpleStorage.num_data_storage_units", default=1))
    gpus = int(config.trainer.n_gpus_per_node) * int(config.trainer.nnodes)
    agent_workers = int(OmegaConf.select(config, "actor_rollout_ref.rollout.agent.num_workers", default=1) or 0)
    reward_workers = int(OmegaConf.select(config, "reward.num_workers", default=1) or 0)
    return units + 1 + 1 + 3 * gpus + agent_workers + reward_workers


def _running_local_cluster() -> bool:
    """True when a Ray cluster (``ray start``) runs on this node; ``ray.init`` will join it."""
    try:
        from ray._private.services import find_gcs_addresses

        return bool(find_gcs_addresses())
    except Exception:
        return False


def check_ray_resources(config: DictConfig) -> None:
    """Fail (instead of hanging forever) when TransferQueue cannot be placed in a new local Ray."""
    import ray

    if (
        ray.is_initialized()
        or os.environ.get("RAY_ADDRESS")
        or OmegaConf.select(config, "ray_kwargs.ray_init.address", default=None)
        or _running_local_cluster()
    ):
        return  # an existing (possibly multi-node) cluster: Ray knows its own resources
    declared = OmegaConf.select(config, "ray_kwargs.ray_init.num_cpus", default=None)
    available = int(declared) if declared is not None else (os.cpu_count() or 1)
    needed = required_ray_cpus(config)
    if needed > available:
        units = OmegaConf.select(config, "transfer_queue.backend.SimpleStorage.num_data_storage_units")
        raise ValueError(
            f"This run reserves about {needed} Ray CPUs but Ray will have {available} "
            f"(ray_kwargs.ray_init.num_cpus={declared}); TransferQueue would wait forever for its "
            f"{units} storage units. Lower transfer_queue.backend.SimpleStorage.num_data_storage_units, "
            f"actor_rollout_ref.rollout.agent.num_workers or reward.num_workers, or raise "
            f"ray_kwargs.ray_init.num_cpus (logical CPUs are fine: preset=cpu uses 16)."
        )


def prepare(config: DictConfig) -> DictConfig:
    """Everything the driver does before Ray starts; returns the config (mutated in place)."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config
    from verl.utils.device import auto_set_device

    _export_plugin_env()
    if str(config.trainer.device) == "cpu":
        from rlsd_verl import cpu

        cpu.enable()
        from rlsd_verl.cpu import vllm_checks

        vllm_checks.check(config)
    plugin.verify()
    auto_set_device(config)

    estimator = str(config.algorithm.adv_estimator)
    if estimator in ESTIMATOR_NAMES:
        from rlsd_verl.config_checks import check_trainer_config

        if not config.trainer.use_v1:
            raise ValueError(
                f"algorithm.adv_estimator={estimator} runs on verl's V1 trainer: remove trainer.use_v1=False."
            )
        check_trainer_config(config)  # errors, and warnings for departures from the paper's setup

    validate_config(
        config=config,
        use_reference_policy=need_reference_policy(config),
        use_critic=need_critic(config),
    )
    check_ray_resources(config)
    return config


def run(config: DictConfig) -> None:
    """Validate, then train (or validate only) with verl's Ray trainer."""
    from verl.trainer.main_ppo import run_ppo

    from rlsd_verl.trainer.task_runner import RLSDTaskRunner

    prepare(config)
    run_ppo(config, task_runner_class=RLSDTaskRunner)


@hydra.main(config_path="config", config_name="rlsd_trainer", version_base=None)
def main(config: DictConfig) -> None:
    run(config)


if __name__ == "__main__":
    main()
