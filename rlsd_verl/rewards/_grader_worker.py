"""Grader sandbox worker: ``python -m rlsd_verl.rewards._grader_worker`` (started by ``_sandbox``).

Protocol (one JSON object per line): the worker prints ``{"ready": true}`` once its graders are
imported, then answers each request ``{"id": n, "tasks": [[kind, pred, gold], ...], "soft_timeout": s}``
with ``{"id": n, "match": i, "timeout": bool}`` (``i`` = index of the first check that holds, -1 if
none). It runs in its own process, in its main thread, so the soft deadline is a ``SIGALRM`` timer
that re-fires every 50 ms until the checks are abandoned (sympy or mathruler code with bare
``except:`` clauses cannot swallow it for good); the parent kills the process if even that fails.
Memory is capped with ``RLIMIT_AS`` (``RLSD_REWARD_GRADER_MEM_MB``, default 4096; 0 = no cap), and the
worker exits when its parent goes away or closes stdin.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time


class _Deadline(BaseException):
    """Raised by the timer; a BaseException so that ``except Exception`` in graders cannot catch it."""


_expired = False


def _on_alarm(signum, frame):
    global _expired
    _expired = True
    raise _Deadline()


def _watch_parent(ppid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(0)


def _limit_memory() -> None:
    try:
        mb = int(os.environ.get("RLSD_REWARD_GRADER_MEM_MB", "4096"))
    except ValueError:
        mb = 4096
    if mb <= 0:
        return
    try:
        import resource

        limit = mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def main() -> int:
    global _expired
    # Keep the protocol on the original stdout; anything printed by libraries goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    _limit_memory()

    from rlsd_verl.rewards import _heavy

    _heavy.warm_up()
    signal.signal(signal.SIGALRM, _on_alarm)
    proto.write(json.dumps({"ready": True}) + "\n")

    for line in sys.stdin:
        try:
            req = json.loads(line)
            tasks = req.get("tasks") or []
            soft = max(0.01, float(req.get("soft_timeout", 1.5)))
            rid = req.get("id")
        except (ValueError, TypeError, AttributeError):
            continue
        _expired = False
        match = -1
        try:
            try:
                signal.setitimer(signal.ITIMER_REAL, soft, 0.05)
                match = _heavy.run_checks(tasks)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Deadline:
            match = -1
        except Exception:  # noqa: BLE001 - never let one request kill the worker
            match = -1
        timed_out = _expired and match < 0
        proto.write(json.dumps({"id": rid, "match": match, "timeout": timed_out}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
