"""Pure RLSD math, its baselines and its config: torch, numpy and the standard library only.

Nothing here imports Ray, verl's trainer or transformers, so it loads and tests on any machine;
the trainer glue that feeds these functions lives elsewhere in :mod:`rlsd_verl`.
"""

from rlsd_verl.algos.baselines import (
    compute_grpo_opsd_advantages,
    compute_opsd_advantages,
    compute_sdpo_advantages,
    select_sdpo_demonstrations,
)
from rlsd_verl.algos.config import RLSDConfig
from rlsd_verl.algos.rlsd import RLSD_METRIC_KEYS, compute_rlsd_advantages, rlsd_lambda

__all__ = [
    "compute_rlsd_advantages",
    "rlsd_lambda",
    "RLSD_METRIC_KEYS",
    "compute_opsd_advantages",
    "compute_grpo_opsd_advantages",
    "compute_sdpo_advantages",
    "select_sdpo_demonstrations",
    "RLSDConfig",
]
