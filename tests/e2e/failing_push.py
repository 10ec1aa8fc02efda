"""What the failing-push e2e test injects (no vLLM import: pytest runs in the main environment).

The extension itself is :mod:`tests.e2e.failing_push_extension`, imported by vLLM's worker.
"""

#: the push that fails (1: before step 1; 2: after step 1's update)
FAIL_AT = 2
MESSAGE = "rlsd-test: the receiver failed to load a bucket on purpose"
EXTENSION_CLS = "tests.e2e.failing_push_extension.FailingPushExtension"
#: the extension writes ``time.time()`` of the failure to the file this names (when set)
MARK_ENV = "RLSD_TEST_FAILED_PUSH_MARK"
