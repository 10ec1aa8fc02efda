"""Every verl name and call rlsd-verl relies on exists in the pinned verl, and a missing one is caught."""

from __future__ import annotations

import pytest

from rlsd_verl import verl_seams


#: the vLLM seams' cases run where vLLM is installed (``-k vllm_seam``); elsewhere
#: test_vllm_environment_checks_its_seams runs them with the vLLM environment's Python
VLLM_SEAM = "vllm_seam"
needs_vllm = pytest.mark.skipif(not verl_seams.vllm_installed(), reason="vLLM seams: run in the vLLM environment")


def test_pinned_verl_has_every_seam():
    assert verl_seams.missing() == []
    verl_seams.check()


@needs_vllm
def test_vllm_seam_names_all_present():
    assert verl_seams.missing(vllm=True) == []


def test_vllm_environment_checks_its_seams():
    """The vLLM seam cases below, run with the vLLM environment's Python (they are skipped in this one)."""
    import os
    import subprocess
    from pathlib import Path

    from rlsd_verl.cpu.vllm_checks import vllm_env_python

    if verl_seams.vllm_installed():
        pytest.skip("vLLM is installed here: the vllm_seam cases run in this session")
    python = vllm_env_python()
    if not os.path.exists(python):
        if os.environ.get("RLSD_SKIP_VLLM") == "1":
            pytest.skip("RLSD_SKIP_VLLM=1: the vLLM environment was not built")
        pytest.fail(f"the vLLM environment's Python {python} does not exist: run bash scripts/install_cpu.sh")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [python, "-m", "pytest", str(Path(__file__)), "-q", "-k", VLLM_SEAM, "-p", "no:cacheprovider"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    expected = 1 + sum(len(a) or 1 for *_, a in verl_seams.VLLM_ATTRS) + sum(map(len, verl_seams.VLLM_CALLS.values()))
    expected += len(verl_seams.VLLM_CALLS)
    assert f"{expected} passed" in proc.stdout, tail


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
    for module, name, attrs in verl_seams.VLLM_ATTRS:
        for attr in attrs or (None,):
            yield pytest.param(module, name, attr, id=f"{VLLM_SEAM}-{module}.{name}.{attr}", marks=needs_vllm)


def _call_cases():
    for where, texts in verl_seams.REQUIRED_CALLS.items():
        for text in texts:
            yield pytest.param(where, text, id=f"{where}[{text[:30]}]")
    for where, texts in verl_seams.VLLM_CALLS.items():
        for text in texts:
            yield pytest.param(where, text, id=f"{VLLM_SEAM}-{where}[{text[:30]}]", marks=needs_vllm)


def _where_cases():
    yield from verl_seams.REQUIRED_CALLS
    for where in verl_seams.VLLM_CALLS:
        yield pytest.param(where, id=f"{VLLM_SEAM}-{where}", marks=needs_vllm)


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


@pytest.mark.parametrize("where,text", list(_call_cases()))
def test_each_required_call_or_format_that_changes_is_caught(monkeypatch, where, text):
    import inspect

    real = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda obj: real(obj).replace(text, "<renamed>"))
    assert f"{verl_seams._name(where)} no longer calls {text!r}" in verl_seams.missing()


@pytest.mark.parametrize("where", list(_where_cases()))
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
