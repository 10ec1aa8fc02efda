"""The self-distillation worker's teacher copy: built at θ₀, synced shard by shard, or live."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = os.path.join(os.path.dirname(__file__), "sync_probe.py")


def _probe(model_dir: str, mode: str, port: int, dtype: str | None = None) -> dict:
    env = dict(os.environ, PROBE_PORT=str(port), PYTHONPATH=os.getcwd())
    args = [sys.executable, PROBE, model_dir, mode] + ([dtype] if dtype else [])
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-6 * max(1.0, abs(a[k])) for k in a)


def test_sync_teacher_starts_at_theta0_and_copies_the_actor(tiny_models):
    r = _probe(tiny_models["text"], "sync", 29641)
    assert r["info"]["mode"] == "sync" and r["info"]["holds_copy"] is True
    assert r["info"]["params"] == len(r["before"]["actor"]) and r["info"]["dtype"] == "torch.float32"  # the actor's
    assert "model_dtype" in r["mismatch"] and "float64" in r["mismatch"]
    assert _same(r["before"]["teacher"], r["before"]["actor"])  # θ₀ copy
    assert not _same(r["moved"]["teacher"], r["moved"]["actor"])  # the actor moved, the teacher did not
    assert _same(r["moved"]["teacher"], r["before"]["teacher"])
    assert _same(r["after"]["teacher"], r["after"]["actor"])  # after a sync: teacher == actor
    assert r["synced"]["version"] == 7 and r["synced"]["numel"] > 0
    assert r["info"]["bytes"] == r["info"]["actor_bytes"]  # the CPU preset computes in fp32: an fp32 copy


def test_bf16_teacher_copy_holds_half_the_bytes_and_syncs_by_casting(tiny_models):
    """algorithm.rlsd.teacher_dtype=bf16 on the real worker: the copy's measured bytes are half the fp32
    actor's, its check passes, and a sync is the actor's weights cast to bf16 element for element."""
    r = _probe(tiny_models["text"], "sync", 29647, dtype="bf16")
    assert r["info"]["dtype"] == "torch.bfloat16" and r["info"]["params"] == len(r["before"]["actor"])
    assert r["info"]["actor_bytes"] > 0 and 2 * r["info"]["bytes"] == r["info"]["actor_bytes"], r["info"]
    assert r["synced"]["max_diff_to_cast_actor"] == 0.0
    assert not _same(r["moved"]["teacher"], r["moved"]["actor"])  # the actor moved, the copy did not
    assert "teacher_dtype=bf16" in r["mismatch"] and "float64" in r["mismatch"]  # a real mismatch is still caught


def test_frozen_teacher_stays_at_theta0(tiny_models):
    r = _probe(tiny_models["qwen2_5_vl"], "frozen", 29643)
    assert r["info"]["holds_copy"] is True
    assert _same(r["moved"]["teacher"], r["before"]["teacher"])
    assert not _same(r["moved"]["teacher"], r["moved"]["actor"])


def test_live_teacher_holds_no_copy(tiny_models):
    r = _probe(tiny_models["text"], "live", 29645)
    assert r["info"] == {"mode": "live", "holds_copy": False}
    assert r["mismatch"] is None
    assert "teacher" not in r["before"]
