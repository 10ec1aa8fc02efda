"""verl plugin: registers rlsd-verl's components in every process that imports verl.

Loaded by verl's ``verl.plugins`` entry point (declared in setup.py) on ``import verl`` —
in the driver, the TaskRunner, the FSDP workers, the agent-loop and reward workers — and,
because ``python -m rlsd_verl.main`` also lists it in ``VERL_USE_EXTERNAL_MODULES``, through
verl's loud module hook as well. Registering is idempotent.

What it registers (all cheap: import paths and small classes):

* the ``cpu`` device platform (:mod:`rlsd_verl.cpu.platform`), and, when the CPU backend is
  on in this process's environment, the CPU patches (:mod:`rlsd_verl.cpu.patches`);
* the ``hf`` rollout backend (:mod:`rlsd_verl.cpu.rollout`), and verl's ``vllm`` adapter with a weight push
  that stops on the receiver's error instead of hanging (:mod:`rlsd_verl.workers.vllm_push`);
* fixes for verl 0.9.1 bugs that real runs hit (:mod:`rlsd_verl.verl_fixes`);
* the advantage-estimator names ``rlsd``, ``opsd``, ``grpo_opsd``, ``sdpo``
  (:mod:`rlsd_verl.trainer.estimators`) and a guard that stops
  ``python -m verl.trainer.main_ppo`` from running them without the RLSD trainer.

verl swallows a failing entry point at DEBUG level (a silently missing plugin would make
``algorithm.adv_estimator=rlsd`` an "unknown estimator" much later). This module logs
every failure at ERROR with its traceback, keeps it in :data:`LOAD_ERRORS`, and re-raises;
``rlsd_verl.main`` calls :func:`verify` and stops with the error before anything starts;
:func:`verify` also checks that every verl name rlsd-verl overrides or calls still exists
(:mod:`rlsd_verl.verl_seams`), so a verl change fails loudly instead of training plain GRPO.
"""

from __future__ import annotations

import logging
import traceback

logger = logging.getLogger("rlsd_verl.plugin")

LOAD_ERRORS: list[str] = []
_LOADED = False


def _register_all() -> None:
    from rlsd_verl import cpu, verl_fixes
    from rlsd_verl.cpu import platform  # noqa: F401  (registers the "cpu" platform)
    from rlsd_verl.cpu import rollout
    from rlsd_verl.trainer import estimators

    verl_fixes.apply()
    rollout.register()
    estimators.register()
    estimators.install_entry_guard()
    if cpu.is_enabled():
        cpu.apply_in_process()


def load() -> None:
    """Register everything in this process (idempotent); loud on failure."""
    global _LOADED
    if _LOADED:
        return
    try:
        _register_all()
    except Exception:
        message = traceback.format_exc()
        LOAD_ERRORS.append(message)
        logger.error("rlsd_verl: failed to register its verl plugin components:\n%s", message)
        raise
    _LOADED = True


def verify() -> None:
    """Raise a clear error if the plugin is not (fully) registered in this process."""
    if LOAD_ERRORS:
        raise RuntimeError("rlsd_verl's verl plugin failed to load:\n" + LOAD_ERRORS[-1])
    load()
    from verl.plugin.platform.platform_manager import PlatformRegistry
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY
    from verl.workers.rollout.base import _ROLLOUT_REGISTRY

    from rlsd_verl.cpu import rollout
    from rlsd_verl.trainer.estimators import ESTIMATOR_NAMES

    missing = []
    if PlatformRegistry.get("cpu") is None:
        missing.append("platform 'cpu'")
    if ("hf", "async") not in _ROLLOUT_REGISTRY:
        missing.append("rollout 'hf'")
    if _ROLLOUT_REGISTRY.get(("vllm", "async")) != rollout.VLLM_ADAPTER:
        missing.append("rollout 'vllm' (the guarded weight push)")
    missing += [f"advantage estimator {n!r}" for n in ESTIMATOR_NAMES if n not in ADV_ESTIMATOR_REGISTRY]
    if missing:
        raise RuntimeError(
            "rlsd_verl's verl plugin is not registered (" + ", ".join(missing) + "). "
            "Is rlsd-verl installed in this environment (pip install -e .)?"
        )
    from rlsd_verl import verl_seams

    verl_seams.check()


load()
