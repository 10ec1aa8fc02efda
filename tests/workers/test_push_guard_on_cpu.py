"""The watched REQ socket: a receiver that fails or leaves stops the sender's wait; a normal ack passes.

A real ZMQ REQ/REP pair over ``inproc`` (the protocol verl's bucketed weight push uses), the receiver's
call a real ``concurrent.futures`` future run in a thread.
"""

from __future__ import annotations

import concurrent.futures
import time
import uuid

import pytest
import zmq

from rlsd_verl.workers.push_guard import WatchedSocket, WeightPushError, receiver_failure


@pytest.fixture
def pair():
    ctx = zmq.Context.instance()
    addr = f"inproc://push-guard-{uuid.uuid4().hex}"
    req = ctx.socket(zmq.REQ)
    req.bind(addr)
    rep = ctx.socket(zmq.REP)
    rep.connect(addr)
    yield req, rep
    rep.close(linger=0)
    req.close(linger=0)


def _receiver(rep, fail_on: int | None, buckets: int = 3):
    """REP side like verl's receiver: ack each bucket; raise (without acking) on bucket ``fail_on``."""
    for i in range(buckets):
        rep.recv_pyobj()
        if i == fail_on:
            raise RuntimeError(f"weight_loader failed on bucket {i}")
        rep.send(b"")
    return "done"


def _send(sock: WatchedSocket, buckets: int = 3) -> None:
    for i in range(buckets):
        sock.send_pyobj({"bucket": i})
        assert sock.recv() == b""


def test_acknowledged_buckets_pass(pair):
    req, rep = pair
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(_receiver, rep, None)
        _send(WatchedSocket(req, future, poll_s=0.01))
        assert future.result(timeout=5) == "done"


def test_a_receiver_that_raises_stops_the_sender_with_its_error(pair):
    req, rep = pair
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(_receiver, rep, 1)
        start = time.monotonic()
        with pytest.raises(WeightPushError, match="raised RuntimeError: weight_loader failed on bucket 1") as info:
            _send(WatchedSocket(req, future, poll_s=0.01))
        assert time.monotonic() - start < 5
        assert isinstance(info.value.__cause__, RuntimeError)  # the receiver's exception, chained


def test_a_receiver_that_returns_without_acking_stops_the_sender(pair):
    req, rep = pair
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(lambda: rep.recv_pyobj() and None)  # takes the bucket, never answers
        with pytest.raises(WeightPushError, match="returned without acknowledging"):
            _send(WatchedSocket(req, future, poll_s=0.01, finished_grace_s=0.05), buckets=1)


def test_an_ack_sent_just_before_the_receiver_returns_is_read(pair):
    req, rep = pair
    done: concurrent.futures.Future = concurrent.futures.Future()
    done.set_result(None)  # the receiver's call is already over when the sender looks
    sock = WatchedSocket(req, done, poll_s=0.01, finished_grace_s=2.0)
    sock.send_pyobj({"bucket": 0})
    rep.recv_pyobj()
    rep.send(b"")
    assert sock.recv() == b""


def test_receiver_failure():
    pending: concurrent.futures.Future = concurrent.futures.Future()
    assert receiver_failure(pending) is None
    ok: concurrent.futures.Future = concurrent.futures.Future()
    ok.set_result(1)
    assert receiver_failure(ok) is None
    bad: concurrent.futures.Future = concurrent.futures.Future()
    bad.set_exception(ValueError("x"))
    assert isinstance(receiver_failure(bad), ValueError)
    cancelled: concurrent.futures.Future = concurrent.futures.Future()
    cancelled.cancel()
    assert isinstance(receiver_failure(cancelled), concurrent.futures.CancelledError)


def test_the_error_under_verls_shared_memory_cleanup_is_recovered():
    """verl's receiver: a bucket that fails while its tensors view the shared memory, then ``shm.close()``."""
    from multiprocessing import shared_memory

    import torch

    from rlsd_verl.workers.push_guard import unmask_cleanup_error

    shm = shared_memory.SharedMemory(create=True, size=64)
    info = error = None
    try:

        def load_bucket():
            tensor = torch.frombuffer(shm.buf[:16], dtype=torch.uint8)  # noqa: F841  (kept alive by the frame)
            raise RuntimeError("weight_loader failed")

        with pytest.raises(BufferError) as info:
            try:
                load_bucket()
            finally:
                shm.close()  # verl's BucketedWeightReceiver._cleanup
        error = unmask_cleanup_error(info.value)
        assert isinstance(error, RuntimeError) and str(error) == "weight_loader failed"
        assert any("BufferError" in note for note in error.__notes__)
        lone = BufferError("no context")
        assert unmask_cleanup_error(lone) is lone
    finally:
        del info, error
        import gc

        gc.collect()
        shm.close()
        shm.unlink()
