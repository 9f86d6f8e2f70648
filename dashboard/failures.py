"""What a user sees of a failure: one sentence that says what to do, never a traceback.

The sentences for the faults a deployment meets (the worker pool or the job queue gone, a
worker lost, the cache full, a pool of another version) and `user_message`, which picks one
for an exception raised anywhere in a job; unexpected ones go to the server log whole.
"""

from __future__ import annotations

import logging
import traceback

from dashboard.errors import InputError, PoolMismatch, PoolUnavailable, UnsupportedModel
from dashboard.store import UNWRITABLE

log = logging.getLogger(__name__)

POOL_DOWN = (
    "The worker pool is not answering (it may be restarting). Try again in a minute: "
    "the maps finished so far are kept."
)
QUEUE_DOWN = (
    "The job queue (Redis, at REDIS_URL) is not answering (it may be restarting). Try again in "
    "a minute: the maps finished so far are kept."
)
# redis-py's connection errors (refused, dropped, timed out), and kombu's wrapping of them
QUEUE_ERRORS = {
    ("redis.exceptions", "ConnectionError"),
    ("redis.exceptions", "TimeoutError"),
    ("kombu.exceptions", "OperationalError"),
}
OTHER_VERSION = (
    "The worker pool runs another version of QK Atlas than this web app, so its maps are stored "
    "under names this app does not read: restart the pool's workers with this app's version."
)
WORKER_LOST = (
    "A worker stopped while computing these maps (it may have run out of memory). "
    "Run the request again: the maps finished so far are kept."
)

CACHE_FULL = (
    "The cache folder (QKATLAS_CACHE_DIR) is full or read-only, so the maps could not be stored. "
    "Free some space or fix its permissions, then run the request again."
)
CACHE_OVERFLOW = (
    "The cache folder (QKATLAS_CACHE_DIR) is full or read-only: these maps are kept in a "
    "temporary folder and will be computed again after a restart. Free some space or fix its "
    "permissions to keep them."
)


def _queue_gone(exc: BaseException | None) -> bool:
    """A connection error of Redis, or one raised from it (Celery's result consumer gives up
    with a RuntimeError whose cause is redis-py's ConnectionError)."""
    seen = 0
    while exc is not None and seen < 5:
        if any((kind.__module__, kind.__name__) in QUEUE_ERRORS for kind in type(exc).__mro__):
            return True
        exc, seen = exc.__cause__, seen + 1
    return False


def user_message(exc: BaseException) -> str:
    """What a user sees of a failure: our own messages as they are, never a traceback."""
    if _queue_gone(exc):
        log.warning("job failed, the job queue (REDIS_URL) is gone: %s", exc)
        return QUEUE_DOWN
    if isinstance(
        exc, InputError | UnsupportedModel | ValueError | KeyError | PoolUnavailable | PoolMismatch
    ):
        return str(exc).strip("'\"")
    if isinstance(exc, OSError) and exc.errno in UNWRITABLE:
        log.error("job failed, the cache cannot be written: %s", exc)
        return CACHE_FULL
    name = exc.__class__.__name__
    if name == "KilledWorker":  # the scheduler gave up on a task whose workers kept dying
        log.warning("job failed: %s", exc)
        return WORKER_LOST
    # the scheduler went away mid-job: the client cancels its futures, or its comm breaks
    if name in ("FutureCancelledError", "CommClosedError", "CancelledError"):
        log.warning("job failed, the pool is gone: %s", exc)
        return POOL_DOWN
    log.error("job failed:\n%s", "".join(traceback.format_exception(exc)))
    return f"The computation failed ({exc.__class__.__name__}). Details are in the server log."
