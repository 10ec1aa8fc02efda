"""rlsd-verl: RLSD (RLVR with Self-Distillation, arXiv:2604.03128) on verl 0.9.1.

The package top level stays light (no Ray, no trainer import): the pure RLSD math is
importable on any machine.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "compute_rlsd_advantages", "rlsd_lambda"]


def __getattr__(name):  # lazy, so `import rlsd_verl` never pulls torch-heavy modules early
    if name in ("compute_rlsd_advantages", "rlsd_lambda"):
        from rlsd_verl.algos import rlsd

        return getattr(rlsd, name)
    raise AttributeError(f"module 'rlsd_verl' has no attribute {name!r}")
