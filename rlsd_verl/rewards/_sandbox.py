"""Time-bounded execution of the sympy-based checks (``_heavy``) from any thread.

verl calls reward functions from a thread pool inside a Ray actor, where signal-based timeouts are not
available. The checks therefore run in grader *processes* (``_grader_worker``), reused across calls:

* a call sends its checks to an idle worker and waits at most ``timeout_s`` for the answer; the worker
  itself gives up a little earlier (``SIGALRM`` in its own main thread) and replies "timeout";
* if the worker does not answer by the deadline (stuck in C code, out of memory, crashed) it is killed
  and a replacement is started at once, in the background, and the call reports a timeout;
* the time a call spends waiting for an idle worker (all busy with other threads' calls) is not part
  of its budget; with ``RLSD_REWARD_GRADER_PROCS`` workers per process, at most that many checks run
  at once.

Environment knobs (read when the pool is first used in a process):

``RLSD_REWARD_GRADER``        ``process`` (default) or ``inline`` (run checks in the calling thread:
                              no time bound beyond the input caps; for debugging).
``RLSD_REWARD_GRADER_PROCS``  worker processes per calling process (default 1).
``RLSD_REWARD_GRADER_MEM_MB`` address-space cap of each worker in MiB (default 4096; 0 = none).

If a worker cannot be started (three failures in a row) the pool logs a warning and falls back to
inline execution, so scoring never raises.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from rlsd_verl.rewards import _heavy

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 120.0
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _WorkerError(Exception):
    pass


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")  # one thread: the worker is single-threaded and memory-capped
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rlsd_verl.rewards._grader_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        self._buf = b""
        self.ready = False
        self._next_id = 0

    def _readline(self, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            r, _, _ = select.select([fd], [], [], remaining)
            if not r:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise _WorkerError("grader worker exited")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def wait_ready(self, timeout: float) -> None:
        line = self._readline(time.monotonic() + timeout)
        if line is None:
            raise _WorkerError(f"grader worker not ready after {timeout:.0f} s")
        if json.loads(line).get("ready") is not True:
            raise _WorkerError(f"unexpected grader worker greeting {line[:200]!r}")
        self.ready = True

    def request(self, tasks: Sequence[tuple[str, str, str]], timeout_s: float) -> tuple[int, bool]:
        """(index of first matching task or -1, timed_out); raises _WorkerError if the worker is unusable."""
        self._next_id += 1
        rid = self._next_id
        soft = max(0.05, min(timeout_s - 0.25, timeout_s * 0.9))
        msg = json.dumps({"id": rid, "tasks": [list(t) for t in tasks], "soft_timeout": soft}) + "\n"
        try:
            self.proc.stdin.write(msg.encode("utf-8"))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as e:
            raise _WorkerError(f"grader worker pipe closed: {e}") from e
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._readline(deadline)
            if line is None:
                return -1, None  # type: ignore[return-value]  # hard timeout: caller kills
            try:
                reply = json.loads(line)
            except ValueError as e:
                raise _WorkerError(f"bad grader reply {line[:200]!r}") from e
            if reply.get("id") == rid:
                return int(reply.get("match", -1)), bool(reply.get("timeout", False))

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


class GraderPool:
    """A small per-process pool of grader workers (see the module docstring)."""

    def __init__(self, size: int = 1, mode: str = "process") -> None:
        if mode not in ("process", "inline"):
            raise ValueError(f"RLSD_REWARD_GRADER must be 'process' or 'inline', got {mode!r}")
        if size < 1:
            raise ValueError(f"RLSD_REWARD_GRADER_PROCS must be >= 1, got {size}")
        self.size = size
        self.mode = mode
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._n_workers = 0
        self._failures = 0
        self.stats = {"calls": 0, "timeouts": 0, "restarts": 0}
        self._all: list[_Worker] = []

    # -- worker management ------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        w = _Worker()
        with self._lock:
            self._all.append(w)
        return w

    def _acquire(self) -> _Worker:
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                can_spawn = self._n_workers < self.size
                if can_spawn:
                    self._n_workers += 1
            if can_spawn:
                try:
                    return self._spawn()
                except OSError:
                    with self._lock:
                        self._n_workers -= 1
                    raise
            try:
                # all workers busy: wait for one (re-checking now and then in case one was discarded)
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _discard(self, w: _Worker, replace: bool) -> None:
        w.kill()
        with self._lock:
            if w in self._all:
                self._all.remove(w)
        if replace:
            try:
                self._idle.put(self._spawn())  # starts importing now, off the critical path
                self.stats["restarts"] += 1
                return
            except OSError:
                pass
        with self._lock:
            self._n_workers -= 1

    def close(self) -> None:
        with self._lock:
            workers, self._all = list(self._all), []
            self._n_workers = 0
        for w in workers:
            w.kill()
        self._idle = queue.Queue()

    def prestart(self) -> None:
        """Start one worker in the background (non-blocking) so that its imports overlap other work."""
        if self.mode != "process":
            return
        with self._lock:
            if self._n_workers > 0:
                return
            self._n_workers += 1
        try:
            self._idle.put(self._spawn())
        except OSError:
            with self._lock:
                self._n_workers -= 1

    # -- public API ---------------------------------------------------------------------------
    def run(self, tasks: Sequence[tuple[str, str, str]], timeout_s: float) -> tuple[int, bool]:
        """Run ``tasks`` in order, stop at the first that holds; return ``(index or -1, timed_out)``."""
        if not tasks:
            return -1, False
        self.stats["calls"] += 1
        if self.mode == "inline":
            return _heavy.run_checks(tasks), False
        try:
            w = self._acquire()
        except OSError as e:
            return self._fallback(tasks, e)
        try:
            if not w.ready:
                w.wait_ready(STARTUP_TIMEOUT_S)
            idx, timed_out = w.request(tasks, timeout_s)
        except (_WorkerError, OSError, ValueError) as e:
            self._discard(w, replace=False)
            return self._fallback(tasks, e)
        if timed_out is None:  # no answer by the deadline: kill and replace
            self.stats["timeouts"] += 1
            self._discard(w, replace=True)
            return -1, True
        self._failures = 0
        if timed_out:
            self.stats["timeouts"] += 1
        self._idle.put(w)
        return idx, timed_out

    def _fallback(self, tasks, err) -> tuple[int, bool]:
        self._failures += 1
        if self._failures >= 3 and self.mode != "inline":
            logger.warning("rlsd_verl.rewards: grader workers keep failing (%s); checking inline from now on", err)
            self.mode = "inline"
        else:
            logger.warning("rlsd_verl.rewards: grader worker failed (%s); this call is checked inline", err)
        return _heavy.run_checks(tasks), False


_POOL: GraderPool | None = None
_POOL_PID: int | None = None
_POOL_LOCK = threading.Lock()


def get_pool() -> GraderPool:
    """The process-wide pool (re-created after a fork)."""
    global _POOL, _POOL_PID
    pid = os.getpid()
    if _POOL is not None and _POOL_PID == pid:
        return _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL_PID != pid:
            mode = os.environ.get("RLSD_REWARD_GRADER", "process").strip().lower() or "process"
            try:
                size = int(os.environ.get("RLSD_REWARD_GRADER_PROCS", "1"))
            except ValueError as e:
                raise ValueError(
                    f"RLSD_REWARD_GRADER_PROCS must be an integer, got {os.environ.get('RLSD_REWARD_GRADER_PROCS')!r}"
                ) from e
            _POOL = GraderPool(size=size, mode=mode)
            _POOL_PID = pid
    return _POOL


def _close_pool() -> None:
    if _POOL is not None and _POOL_PID == os.getpid():
        _POOL.close()


atexit.register(_close_pool)
