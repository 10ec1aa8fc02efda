"""The tiny-run launcher starts a run again only when Ray itself failed to start."""

from __future__ import annotations

import subprocess
import types

from rlsd_verl.cpu import tiny_run


def _fake_runs(monkeypatch, outputs: list[tuple[int, str]]):
    calls = []

    def run(cmd, stdout, **kwargs):
        code, text = outputs[len(calls)]
        calls.append(cmd)
        stdout.write(text)
        return types.SimpleNamespace(returncode=code)

    monkeypatch.setattr(subprocess, "run", run)
    return calls


def test_ray_startup_timeout_is_retried(tmp_path, monkeypatch):
    calls = _fake_runs(monkeypatch, [(1, "Exception: The current node timed out during startup."), (0, "step:1")])
    run = tiny_run.run_main(tmp_path, "exp", ["a=1"])
    assert run.returncode == 0 and len(calls) == 2 and "step:1" in run.log


def test_other_failures_are_not_retried(tmp_path, monkeypatch):
    calls = _fake_runs(monkeypatch, [(1, "ValueError: actor_rollout_ref.rollout.n=1"), (0, "never")])
    run = tiny_run.run_main(tmp_path, "exp", [])
    assert run.returncode == 1 and len(calls) == 1


def test_retries_are_bounded(tmp_path, monkeypatch):
    fail = (1, "The current node timed out during startup")
    calls = _fake_runs(monkeypatch, [fail, fail, fail, (0, "")])
    run = tiny_run.run_main(tmp_path, "exp", [], startup_retries=2)
    assert run.returncode == 1 and len(calls) == 3


def test_a_taken_rendezvous_port_is_retried(tmp_path, monkeypatch):
    busy = "torch.distributed.DistNetworkError: The server socket has failed to listen on any local network address. port: 40677"
    calls = _fake_runs(monkeypatch, [(1, busy), (0, "step:1")])
    run = tiny_run.run_main(tmp_path, "exp", [])
    assert run.returncode == 0 and len(calls) == 2
