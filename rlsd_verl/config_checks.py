"""Checks of verl's whole trainer config against the RLSD settings, run before Ray starts.

:class:`rlsd_verl.algos.config.RLSDConfig` validates ``algorithm.rlsd.*`` on its own; this module
checks how those settings meet the rest of verl's ``ppo_trainer`` config (rollouts per prompt,
trainer mode, KL and entropy terms, mini-batching, teacher budget). ``python -m rlsd_verl.main``
calls :func:`check_trainer_config` from ``prepare``; errors name the flag to change, departures
from the paper's setup are ``UserWarning`` s.
"""

from __future__ import annotations

import numbers
import warnings

from rlsd_verl.algos.config import RLSDConfig
from rlsd_verl.trainer.guards import check_teacher_setup
from rlsd_verl.teacher.templates import DEFAULT_TEACHER_TEMPLATE

__all__ = ["check_teacher_token_budget", "check_trainer_config", "validate_against_trainer_config"]

_PREFIX = "algorithm.rlsd"


def _as_config(full_cfg):
    from omegaconf import OmegaConf

    return full_cfg if OmegaConf.is_config(full_cfg) else OmegaConf.create(full_cfg)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def validate_against_trainer_config(rlsd: RLSDConfig, full_cfg) -> list[str]:
    """Check verl's whole ``ppo_trainer`` config for settings that break or alter RLSD.

    Errors (``ValueError``, naming the flag to change):

    - ``actor_rollout_ref.rollout.n`` missing or ``< 2``: with one rollout per prompt every GRPO
      advantage is 0, so RLSD (which only rescales ``A``) has nothing to do. Paper: 8.
    - ``trainer.use_v1=true`` with ``trainer.v1.trainer_mode != "sync"``: the RLSD trainer extends
      verl's synchronous V1 trainer.

    Warnings (``UserWarning``, also returned): departures from the paper's setup
    (``algorithm.use_kl_in_reward``, ``actor_rollout_ref.actor.use_kl_loss``,
    ``actor_rollout_ref.actor.entropy_coeff``); teacher settings that do not do what they say
    (``teacher="sync"`` with ``sync_interval=1`` is ``"live"``; a ``sync_interval`` >=
    ``trainer.total_training_steps`` never refreshes, i.e. is ``"frozen"``); several mini-batches or
    PPO epochs per trainer step, where the student log-probs of ``Δ_t`` are θ_old's (computed once,
    before the update) while the released code uses the current θ of each mini-batch; and a custom
    ``teacher_template`` with ``teacher_prompt=official``, which does not use it.

    Returns:
        `list[str]`: the warning messages (empty when the config matches the paper's setup).
    """
    from omegaconf import OmegaConf

    cfg = _as_config(full_cfg)

    def get(key, default=None):
        return OmegaConf.select(cfg, key, default=default)

    n = get("actor_rollout_ref.rollout.n")
    if n is None:
        raise ValueError(
            "actor_rollout_ref.rollout.n is not set; RLSD needs a group of rollouts per prompt for GRPO's "
            "advantage: set actor_rollout_ref.rollout.n >= 2 (paper: 8)"
        )
    if not _is_int(n) or n < 2:
        raise ValueError(
            f"actor_rollout_ref.rollout.n={n!r}: with fewer than 2 rollouts per prompt every GRPO advantage is 0 "
            "and RLSD, which only rescales it, has no signal; set actor_rollout_ref.rollout.n >= 2 (paper: 8)"
        )
    if get("trainer.use_v1", False):
        mode = get("trainer.v1.trainer_mode", "sync")
        if mode != "sync":
            raise ValueError(
                f"trainer.v1.trainer_mode={mode!r}: the RLSD trainer extends verl's synchronous V1 trainer; "
                "set trainer.v1.trainer_mode=sync"
            )
    tools = {k: get(f"actor_rollout_ref.rollout.multi_turn.{k}") for k in ("tool_config_path", "function_tool_path")}
    tools["agent.default_agent_loop=tool_agent"] = get("actor_rollout_ref.rollout.agent.default_agent_loop") == "tool_agent"
    if any(tools.values()):
        raise ValueError(
            f"actor_rollout_ref.rollout tools are configured ({', '.join(k for k, v in tools.items() if v)}): the "
            "teacher pass renders the teacher prompt without tool schemas and positions responses as text, so "
            "RLSD-family estimators do not support tool agent loops; unset them"
        )

    messages = []
    if get("algorithm.use_kl_in_reward", False):
        messages.append(
            "algorithm.use_kl_in_reward=true: the paper omits every KL term; set algorithm.use_kl_in_reward=false "
            "to reproduce it"
        )
    if get("actor_rollout_ref.actor.use_kl_loss", False):
        messages.append(
            "actor_rollout_ref.actor.use_kl_loss=true: the paper omits the KL loss; set "
            "actor_rollout_ref.actor.use_kl_loss=false to reproduce it"
        )
    entropy_coeff = get("actor_rollout_ref.actor.entropy_coeff", 0)
    if entropy_coeff:
        messages.append(
            f"actor_rollout_ref.actor.entropy_coeff={entropy_coeff}: the paper omits the entropy loss; set "
            "actor_rollout_ref.actor.entropy_coeff=0 to reproduce it"
        )
    if rlsd.teacher == "sync":
        if rlsd.sync_interval == 1:
            messages.append(
                f"{_PREFIX}.sync_interval=1 refreshes the teacher every step, which is {_PREFIX}.teacher=live "
                "plus a weight copy per step; use teacher=live, or the paper's sync_interval=10"
            )
        total = get("trainer.total_training_steps")
        if _is_int(total) and 0 < total <= rlsd.sync_interval:
            messages.append(
                f"{_PREFIX}.sync_interval={rlsd.sync_interval} >= trainer.total_training_steps={total}: the "
                f"teacher is never refreshed, which is {_PREFIX}.teacher=frozen; lower sync_interval (paper: 10) "
                "or set teacher=frozen"
            )
    batch = get("data.train_batch_size")
    mini = get("actor_rollout_ref.actor.ppo_mini_batch_size")
    epochs = get("actor_rollout_ref.actor.ppo_epochs", 1)
    several_minis = _is_int(batch) and _is_int(mini) and 0 < mini < batch
    if several_minis or (_is_int(epochs) and epochs > 1):
        messages.append(
            f"data.train_batch_size={batch}, actor_rollout_ref.actor.ppo_mini_batch_size={mini}, "
            f"actor_rollout_ref.actor.ppo_epochs={epochs}: more than one optimizer step per trainer step. The "
            "student log-probs in Δ_t = log P_T − log P_S are θ_old's (computed once, before the update), while "
            "the released code uses the current θ of each mini-batch; the λ schedule still counts trainer steps. "
            "For the paper's setup set ppo_mini_batch_size = train_batch_size and ppo_epochs=1"
        )
    if rlsd.teacher_prompt == "official" and rlsd.teacher_template != DEFAULT_TEACHER_TEMPLATE:
        messages.append(
            f"{_PREFIX}.teacher_prompt=official rebuilds the released script's prompt and ignores "
            f"{_PREFIX}.teacher_template; drop the template or set teacher_prompt=paper"
        )
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=2)
    return messages


def check_teacher_token_budget(config, max_hint_tokens: int) -> None:
    """With dynamic batching, the longest teacher sequence must fit one micro-batch."""
    rollout = config.actor_rollout_ref.rollout
    if not rollout.get("log_prob_use_dynamic_bsz", False):
        return
    longest = int(config.data.max_prompt_length) + max_hint_tokens + int(config.data.max_response_length)
    budget = rollout.get("log_prob_max_token_len_per_gpu")
    if budget is not None and int(budget) < longest:
        raise ValueError(
            f"actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu={budget} is below the longest teacher "
            f"sequence ({longest} = data.max_prompt_length + algorithm.rlsd.max_hint_tokens + "
            f"data.max_response_length); raise it to at least {longest} or lower algorithm.rlsd.max_hint_tokens."
        )


def check_trainer_config(config) -> RLSDConfig:
    """All RLSD checks of a composed trainer config (one of our estimators); returns the RLSD settings."""
    rlsd = RLSDConfig.from_config(config.algorithm)
    validate_against_trainer_config(rlsd, config)
    check_teacher_setup(config, rlsd.teacher)
    check_teacher_token_budget(config, rlsd.max_hint_tokens)
    return rlsd
