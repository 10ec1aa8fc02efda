"""Every verl name and call rlsd-verl relies on exists in the pinned verl, and a missing one is caught."""

from __future__ import annotations

import pytest

from rlsd_verl import verl_seams


def test_pinned_verl_has_every_seam():
    assert verl_seams.missing() == []
    verl_seams.check()


def test_a_renamed_override_is_reported(monkeypatch):
    from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync
    from verl.trainer.ppo.v1 import trainer_base

    monkeypatch.delattr(trainer_base.PPOTrainer, "_compute_advantage")
    assert not hasattr(PPOTrainerSync, "_compute_advantage")
    gone = verl_seams.missing()
    assert any("PPOTrainerSync._compute_advantage" in g for g in gone)
    with pytest.raises(RuntimeError, match="silently train plain GRPO"):
        verl_seams.check()


def test_a_call_site_that_no_longer_calls_our_override_is_reported(monkeypatch):
    import inspect

    real = inspect.getsource

    def fake(obj):
        text = real(obj)
        return text.replace("self._agent_loop_postprocess(", "self._renamed_postprocess(")

    monkeypatch.setattr(inspect, "getsource", fake)
    assert any("no longer calls 'self._agent_loop_postprocess('" in g for g in verl_seams.missing())
