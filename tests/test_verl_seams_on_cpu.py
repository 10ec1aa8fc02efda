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


def _defining_classes(cls, attr):
    return [k for k in cls.__mro__ if attr in vars(k)]


def _attr_cases():
    for module, name, attrs in verl_seams.REQUIRED_ATTRS + verl_seams.ACTOR_METHODS:
        if not attrs:
            yield pytest.param(module, name, None, id=f"{module}.{name}")
        for attr in attrs:
            yield pytest.param(module, name, attr, id=f"{module}.{name}.{attr}")


@pytest.mark.parametrize("module,name,attr", list(_attr_cases()))
def test_deleting_each_required_name_is_caught(monkeypatch, module, name, attr):
    import importlib

    assert verl_seams.missing() == []  # every module imported before anything is deleted
    mod = importlib.import_module(module)
    if attr is None:
        monkeypatch.delattr(mod, name)
        expected = f"{module}.{name} (AttributeError)"
    else:
        cls = verl_seams._unwrap(getattr(mod, name))
        for owner in _defining_classes(cls, attr):  # gone from the class and every base that had it
            monkeypatch.delattr(owner, attr)
        expected = f"{module}.{name}.{attr}"
    assert expected in verl_seams.missing()


@pytest.mark.parametrize(
    "where,text",
    [pytest.param(w, t, id=f"{w}[{t[:30]}]") for w, texts in verl_seams.REQUIRED_CALLS.items() for t in texts],
)
def test_each_required_call_or_format_that_changes_is_caught(monkeypatch, where, text):
    import inspect

    real = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda obj: real(obj).replace(text, "<renamed>"))
    assert f"{verl_seams._name(where)} no longer calls {text!r}" in verl_seams.missing()


@pytest.mark.parametrize("where", list(verl_seams.REQUIRED_CALLS))
def test_each_place_read_for_a_call_that_disappears_is_caught(monkeypatch, where):
    import importlib

    module, _, qualname = where.partition(":")
    if not qualname:  # a module's own text: covered by the test above
        return
    assert verl_seams.missing() == []  # every module imported before anything is deleted
    *owner_path, attr = qualname.split(".")
    owner = importlib.import_module(module)
    for part in owner_path:
        owner = verl_seams._unwrap(getattr(owner, part))
    for k in (owner.__mro__[:-1] if isinstance(owner, type) else [owner]):  # all but object
        if attr in vars(k):
            monkeypatch.delattr(k, attr)
    # gone (AttributeError), or only object's own left (__init__: TypeError, no source)
    assert any(g.startswith(f"{verl_seams._name(where)} (") for g in verl_seams.missing())


@pytest.mark.parametrize("where", list(verl_seams.UNBOUND_CALLS))
def test_a_method_called_unbound_that_reads_more_of_self_is_caught(monkeypatch, where):
    import inspect

    real = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda obj: real(obj) + "\n        self.tokenizer\n")
    assert any(g.startswith(f"{verl_seams._name(where)} now reads self.tokenizer") for g in verl_seams.missing())
    monkeypatch.undo()
    assert verl_seams.missing() == []
