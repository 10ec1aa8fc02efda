"""verl's vLLM rollout adapter with a weight push that stops on the receiver's error instead of hanging.

Registered for ``("vllm", "async")`` in verl's ``_ROLLOUT_REGISTRY`` (:func:`rlsd_verl.cpu.rollout.register`,
run by the plugin in every process), so GPU and CPU runs with ``actor_rollout_ref.rollout.name=vllm`` both
use it. It changes one thing of verl's ``ServerAdapter.update_weights`` (full-tensor pushes; delta pushes
are verl's own): the sender waits for each acknowledgement through
:class:`rlsd_verl.workers.push_guard.WatchedSocket`, which watches the receiver's
``collective_rpc("update_weights_from_ipc")`` future, so a receiver that fails stops the push with its
error (:class:`~rlsd_verl.workers.push_guard.WeightPushError`) and the trainer exits instead of hanging.
The rest of the method is verl's, line for line (its calls are checked in :mod:`rlsd_verl.verl_seams`).
"""

from __future__ import annotations

import logging
import time

import torch
from verl.workers.rollout.vllm_rollout.bucketed_weight_transfer import BucketedWeightSender
from verl.workers.rollout.vllm_rollout.vllm_rollout import ServerAdapter

from rlsd_verl.workers.push_guard import WatchedSocket

logger = logging.getLogger(__name__)


class WatchedWeightSender(BucketedWeightSender):
    """verl's sender whose acknowledgement waits stop when ``receiver`` (a concurrent future) ends first."""

    def __init__(self, *args, receiver, **kwargs):
        super().__init__(*args, **kwargs)
        self._receiver = receiver

    def _init_socket(self):
        super()._init_socket()
        self.socket = WatchedSocket(self.socket, self._receiver)


class GuardedServerAdapter(ServerAdapter):
    """verl's vLLM ``ServerAdapter``; a full-tensor weight push stops on the receiver's failure."""

    @torch.no_grad()
    async def update_weights(self, weights, global_steps: int = None, wire_format: str = "named_tensors", **kwargs):
        if wire_format != "named_tensors" or not self._has_server:
            return await super().update_weights(weights, global_steps=global_steps, wire_format=wire_format, **kwargs)
        start_time = time.time()
        future = await self._execute_method(
            "update_weights_from_ipc", non_block=True, kwargs={**kwargs, "use_shm": self.use_shm}
        )
        sender = WatchedWeightSender(
            zmq_handle=self.zmq_handle,
            bucket_size_mb=self.config.checkpoint_engine.update_weights_bucket_megabytes,
            use_shm=self.use_shm,
            receiver=future.future(),
        )
        await sender.async_send_weights(weights)
        await future
        await self.server_handle.clear_kv_cache.remote()
        if global_steps is not None:
            await self.server_handle.set_global_steps.remote(global_steps)
        if self.replica_rank == 0 and self.rollout_rank == 0:
            logger.info(f"update_weights done, time cost: {time.time() - start_time:.2f}s")
