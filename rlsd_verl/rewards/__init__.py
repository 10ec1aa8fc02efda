"""Verifiable rewards for RLSD: answer extraction, multiple-choice parsing and math equivalence.

``compute_score`` (see :mod:`rlsd_verl.rewards.scoring`) is verl's custom reward function::

    reward.custom_reward_function.path=pkg://rlsd_verl.rewards
    reward.custom_reward_function.name=compute_score

(or ``path=<checkout>/rlsd_verl/rewards/verl_reward.py`` when the package is not installed).
"""

from rlsd_verl.rewards.choice import parse_choice, parse_choice_in_response
from rlsd_verl.rewards.extract import check_format, extract_final_answer, last_boxed
from rlsd_verl.rewards.scoring import (
    DEFAULT_FORMAT_WEIGHT,
    DEFAULT_TIMEOUT_S,
    RESULT_KEYS,
    benchmark_of,
    compute_score,
)

__all__ = [
    "DEFAULT_FORMAT_WEIGHT",
    "DEFAULT_TIMEOUT_S",
    "RESULT_KEYS",
    "benchmark_of",
    "check_format",
    "compute_score",
    "extract_final_answer",
    "last_boxed",
    "parse_choice",
    "parse_choice_in_response",
]
