"""The advantage-estimator names rlsd-verl adds to verl's registry.

``algorithm.adv_estimator`` selects the method. Each name is registered in
``verl.trainer.ppo.core_algos.ADV_ESTIMATOR_REGISTRY`` so verl's own config checks and
``compute_advantage`` accept it, but the *token-level* part of these methods needs teacher
log-probs, which verl's estimator call cannot see (it only receives rewards, mask, uid).
So the registered function computes the sequence-level base advantage, and
:class:`rlsd_verl.trainer.rlsd_trainer.RLSDTrainer` turns it into the token advantage:

=============  ======================================  ===================================
name           base advantage (this module)            token advantage (trainer)
=============  ======================================  ===================================
``rlsd``       GRPO, A                                 A·((1−λ) + λ·clip(w_t, 1±ε_w))
``grpo_opsd``  GRPO, A                                 A + β·Δ_t
``opsd``       0 (rewards unused)                      Δ_t
``sdpo``       0 (rewards only pick demonstrations)    Δ_t against a successful sibling
=============  ======================================  ===================================

Outside that trainer these names must never silently train plain GRPO: the function
raises unless the RLSD trainer is running in this process, and
:func:`install_entry_guard` makes ``python -m verl.trainer.main_ppo`` stop at config
validation with an error naming ``rlsd_verl.main``.
"""

from __future__ import annotations

import os

import torch

ESTIMATOR_NAMES = ("rlsd", "grpo_opsd", "opsd", "sdpo")
GRPO_BASED = ("rlsd", "grpo_opsd")

ENTRY_ENV = "RLSD_VERL_ENTRY"
_TRAINER_ACTIVE = False


def entry_error(name: str) -> str:
    return (
        f"algorithm.adv_estimator={name} needs rlsd-verl's trainer (it adds the teacher pass). "
        f"Launch with `python -m rlsd_verl.main <the same flags>` instead of "
        f"`python -m verl.trainer.main_ppo`."
    )


def set_trainer_active(active: bool) -> None:
    """Called by the RLSD trainer in the process that computes advantages."""
    global _TRAINER_ACTIVE
    _TRAINER_ACTIVE = bool(active)


def _make_estimator(name: str):
    def estimator(token_level_rewards, response_mask, config=None, index=None, **kwargs):
        if not _TRAINER_ACTIVE:
            raise RuntimeError(entry_error(name))
        if name in GRPO_BASED:
            from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

            norm = True if config is None else bool(config.get("norm_adv_by_std_in_grpo", True))
            return compute_grpo_outcome_advantage(
                token_level_rewards=token_level_rewards,
                response_mask=response_mask,
                index=index,
                norm_adv_by_std_in_grpo=norm,
            )
        zeros = torch.zeros_like(token_level_rewards, dtype=torch.float32)
        return zeros, zeros

    estimator.__name__ = f"rlsd_verl_{name}_base_advantage"
    estimator.__qualname__ = estimator.__name__
    return estimator


_ESTIMATORS = {name: _make_estimator(name) for name in ESTIMATOR_NAMES}


def register() -> None:
    """Register the names in verl's estimator registry (idempotent)."""
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, register_adv_est

    for name, fn in _ESTIMATORS.items():
        if ADV_ESTIMATOR_REGISTRY.get(name) is fn:
            continue
        register_adv_est(name)(fn)


def install_entry_guard() -> None:
    """Make verl's driver-side ``validate_config`` reject our names outside rlsd_verl.main."""
    import verl.utils.config as config_utils

    original = config_utils.validate_config
    if getattr(original, "__rlsd_verl_guard__", False):
        return

    def validate_config(config, *args, **kwargs):
        name = str(config.algorithm.get("adv_estimator", ""))
        if name in ESTIMATOR_NAMES and os.environ.get(ENTRY_ENV) != "1":
            raise ValueError(entry_error(name))
        return original(config, *args, **kwargs)

    validate_config.__rlsd_verl_guard__ = True
    validate_config.__wrapped__ = original
    validate_config.__doc__ = original.__doc__
    config_utils.validate_config = validate_config
