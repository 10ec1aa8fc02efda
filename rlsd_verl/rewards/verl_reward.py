"""File-path entry for verl's ``reward.custom_reward_function.path`` when ``rlsd_verl`` is not installed.

verl loads a file path with ``importlib.util.spec_from_file_location`` as an anonymous module, so this
file must not use relative imports: it puts the checkout root on ``sys.path`` if needed and re-exports
:func:`rlsd_verl.rewards.compute_score`::

    reward.custom_reward_function.path=<checkout>/rlsd_verl/rewards/verl_reward.py
    reward.custom_reward_function.name=compute_score
"""

import os
import sys

try:
    import rlsd_verl.rewards  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from rlsd_verl.rewards.scoring import compute_score  # noqa: E402

__all__ = ["compute_score"]
