"""The sender's side of verl's bucketed weight push, watched: a receiver that fails stops the sender.

verl 0.9.1 pushes the actor's weights into vLLM over a ZMQ REQ/REP pair
(``verl/workers/rollout/vllm_rollout/bucketed_weight_transfer.py``): the FSDP worker's
``BucketedWeightSender`` sends each bucket and then blocks in ``socket.recv()`` — no timeout — for the
vLLM worker's ``BucketedWeightReceiver`` to acknowledge it. When loading a bucket raises in the receiver
(e.g. vLLM's ``weight_loader`` on a parameter it no longer has), the receiver leaves without answering,
so the sender waits forever and the trainer hangs; the receiver's error only reaches the Ray future of
``collective_rpc("update_weights_from_ipc")``, which verl awaits *after* the sender returns.

:class:`WatchedSocket` wraps the sender's REQ socket: its ``recv`` polls in short slices and, between
slices, asks the receiver's future whether it is done; a receiver that failed (or returned without
acknowledging) raises :class:`WeightPushError` carrying the receiver's own error. This is the same on
CUDA IPC (GPU) and shared memory (CPU/NPU): both wait in the same ``recv``.

On the receiving side, with shared memory (CPU, NPU), verl's cleanup masks the receiver's error with a
``BufferError``; :func:`unmask_cleanup_error` recovers it (used by
:class:`rlsd_verl.cpu.vllm_worker.CPUWorkerExtension`).

No vLLM import here (the module is tested with a plain ZMQ pair); :mod:`rlsd_verl.workers.vllm_push`
plugs it into verl's vLLM rollout.
"""

from __future__ import annotations

import concurrent.futures

import zmq

#: how often the sender looks at the receiver's future while it waits for an acknowledgement
POLL_S = 0.5
#: a receiver that finished without error has sent its last acknowledgement already; wait this long for it
FINISHED_GRACE_S = 30.0


class WeightPushError(RuntimeError):
    """The weight push into the rollout engine failed; the message carries the receiver's error."""


def receiver_failure(future: concurrent.futures.Future) -> BaseException | None:
    """The receiver's exception if its future is done with one, else None (not done, or succeeded)."""
    if not future.done():
        return None
    if future.cancelled():
        return concurrent.futures.CancelledError("the weight receiver's call was cancelled")
    return future.exception()


class WatchedSocket:
    """A ZMQ REQ socket whose ``recv`` stops when the receiver's ``future`` ends without acknowledging.

    ``future``: the receiving call (a ``concurrent.futures.Future``; a Ray ``ObjectRef``'s ``.future()``).
    Only the socket methods verl's sender uses are forwarded.
    """

    def __init__(self, socket: zmq.Socket, future: concurrent.futures.Future, poll_s: float = POLL_S,
                 finished_grace_s: float = FINISHED_GRACE_S):
        self._socket = socket
        self._future = future
        self._poll_ms = max(1, int(poll_s * 1000))
        self._grace_ms = max(1, int(finished_grace_s * 1000))

    def send_pyobj(self, obj) -> None:
        self._socket.send_pyobj(obj)

    def bind(self, addr: str) -> None:
        self._socket.bind(addr)

    def recv(self) -> bytes:
        """The receiver's acknowledgement; :class:`WeightPushError` if the receiver ended without one."""
        while not self._socket.poll(self._poll_ms, zmq.POLLIN):
            if not self._future.done():
                continue
            error = receiver_failure(self._future)
            if error is None and self._socket.poll(self._grace_ms, zmq.POLLIN):
                break  # finished cleanly; its acknowledgement was still in flight
            raise WeightPushError(
                "the weight push into the rollout engine failed: the receiver (vLLM worker, "
                f"update_weights_from_ipc) {'raised ' + _describe(error) if error else 'returned without acknowledging'}"
                "; the push was stopped instead of waiting for an answer that will not come"
            ) from error
        return self._socket.recv()

    def close(self) -> None:
        self._socket.close(linger=0)  # unsent buckets to a receiver that is gone must not block exit


def unmask_cleanup_error(error: BufferError) -> BaseException:
    """The error a failed shared-memory bucket raised, from the ``BufferError`` verl's cleanup put over it.

    When loading a bucket raises in verl's ``BucketedWeightReceiver.receive_weights``, its ``finally`` runs
    ``_cleanup``, whose ``shm.close()`` raises ``BufferError`` ("cannot close exported pointers exist": the
    failed frame's tensors still view the buffer). That ``BufferError`` is what reaches the trainer; the real
    error is its ``__context__``. Returns that error with a note saying what happened, or ``error`` itself
    when it has no context.
    """
    original = error.__context__
    if original is None:
        return error
    original.add_note(
        f"(verl's shared-memory receiver then failed to clean up, with a {type(error).__name__} ({error!s}); "
        "rlsd_verl reports the error that stopped the weight push instead)"
    )
    return original


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
