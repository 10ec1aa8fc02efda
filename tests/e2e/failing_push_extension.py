"""Test-only vLLM worker extension whose weight push fails for real, in the receiver, on a chosen push.

It is :class:`rlsd_verl.cpu.vllm_worker.CPUWorkerExtension` (so ``preset=cpu``'s start-up check accepts
it) whose ``_update_weights`` — where vLLM's ``weight_loader`` runs, and where the push failed before the
linear-weight patch — raises :data:`tests.e2e.failing_push.MESSAGE` on push ``FAIL_AT``, after writing
the time of the failure to the file ``$RLSD_TEST_FAILED_PUSH_MARK`` names.
"""

from __future__ import annotations

import os
import time

from rlsd_verl.cpu.vllm_worker import CPUWorkerExtension
from tests.e2e.failing_push import FAIL_AT, MARK_ENV, MESSAGE


class FailingPushExtension(CPUWorkerExtension):
    _pushes = 0

    def update_weights_from_ipc(self, *args, **kwargs):
        type(self)._pushes += 1
        return super().update_weights_from_ipc(*args, **kwargs)

    def _update_weights(self, *args, **kwargs):
        if type(self)._pushes == FAIL_AT:
            if os.environ.get(MARK_ENV):
                with open(os.environ[MARK_ENV], "w") as f:
                    f.write(repr(time.time()))
            raise RuntimeError(f"{MESSAGE} (push {FAIL_AT})")
        return super()._update_weights(*args, **kwargs)
