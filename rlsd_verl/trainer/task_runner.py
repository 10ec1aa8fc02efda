"""The TaskRunner Ray actor of ``rlsd_verl.main``: verl's ``TaskRunnerV1`` with the RLSD trainer.

verl picks the trainer class with ``get_trainer_cls(trainer.v1.trainer_mode)``. The mode
string is also a behaviour switch inside verl's trainer (replay buffer, dataloader sizes,
TransferQueue checkpointing test ``== "sync"``), so the RLSD trainer is not registered
under a new mode name: in this actor's process only, the ``sync`` entry is pointed at
:class:`~rlsd_verl.trainer.rlsd_trainer.RLSDTrainer` (a ``PPOTrainerSync`` subclass).

For the estimators whose teacher prompt depends only on the prompt (``rlsd``, ``opsd``,
``grpo_opsd``) the agent-loop manager is
:class:`~rlsd_verl.teacher.agent_loop.RLSDAgentLoopManagerTQ`, whose workers write each
prompt's teacher prompt ids next to its rollouts.
"""

from __future__ import annotations

import ray
from verl.trainer.main_ppo import TaskRunnerV1

from rlsd_verl.trainer.estimators import ESTIMATOR_NAMES


class _RLSDTaskRunner(TaskRunnerV1.__ray_actor_class__):
    def run(self, config):
        from rlsd_verl import plugin

        plugin.verify()
        if str(config.algorithm.adv_estimator) in ESTIMATOR_NAMES:
            from verl.trainer.ppo.v1 import trainer_base

            from rlsd_verl.trainer.rlsd_trainer import RLSDTrainer

            if config.trainer.v1.trainer_mode != "sync":
                raise ValueError(
                    f"algorithm.adv_estimator={config.algorithm.adv_estimator} extends verl's synchronous "
                    f"trainer; trainer.v1.trainer_mode={config.trainer.v1.trainer_mode} is not supported."
                )
            trainer_base.TRAINER_REGISTRY["sync"] = RLSDTrainer
        return super().run(config)

    def init_agent_loop_manager(self):
        """verl's agent-loop manager, or RLSD's (teacher prompts built with the rollouts)."""
        from rlsd_verl.teacher.agent_loop import manager_class_for

        cls = manager_class_for(self.config)
        if cls is None:
            return super().init_agent_loop_manager()
        self.agent_loop_manager = cls.create(
            config=self.config,
            llm_client=self.trainer.get_llm_client(),
            teacher_client=self.trainer.get_teacher_client(),
            reward_loop_worker_handles=self.trainer.get_reward_handles(),
        )


RLSDTaskRunner = ray.remote(num_cpus=1)(_RLSDTaskRunner)
