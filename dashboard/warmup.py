"""A Dask worker plugin that makes each worker warm as soon as it starts.

It loads the default model and compiles UMAP's numba code in a background thread of the
worker, so neither cost lands on a user's request and the worker takes tasks meanwhile. And it
lowers the worker's CPU priority: on a machine it shares with the web process (a laptop, a
small deployment), pages stay quick while maps compute.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import threading
import time

from distributed import WorkerPlugin

from dashboard.models.registry import ModelSpec

log = logging.getLogger(__name__)
WORKER_NICENESS = 10  # the web process runs at 0: the scheduler gives it ~9× a worker's share
COMPILE_NICENESS = 19  # a warm-up compile: any task's threads (at 10) get ~7× its share


class Warmup(WorkerPlugin):
    name = "qk-atlas-warmup"

    def __init__(self, model: ModelSpec | None, fingerprint: str, warm_umap: bool) -> None:
        self.model = model
        self.fingerprint = fingerprint
        self.warm_umap = warm_umap

    def setup(self, worker) -> None:
        from dashboard.shutdown import ignore_interrupts_in_workers

        ignore_interrupts_in_workers()
        yield_the_cores()
        undo_dasks_malloc_trim()
        threading.Thread(
            target=self._run, args=(worker,), name="qk-atlas-warmup", daemon=True
        ).start()

    def _run(self, worker) -> None:
        from dashboard import worker_tasks

        try:
            if self.model is not None:
                worker_tasks._model(self.model, self.fingerprint)
            if self.warm_umap:
                _wait_until_idle(worker)  # the compile would slow a user's first request ~3×
                # and a request that comes while it compiles (~60 s) gets the cores first
                _nicer(threading.get_native_id(), COMPILE_NICENESS)
                with _gil_handed_back_sooner():
                    seconds = worker_tasks.warm_numba()
                log.info("numba warm in %.1f s", seconds)
        except Exception:  # warm-up is an optimisation: a failure shows up on the real task
            log.exception("worker warm-up failed")


def yield_the_cores(niceness: int = WORKER_NICENESS) -> None:
    """This process's threads at `niceness` at least (Linux keeps one per thread; threads
    started later inherit their starter's, so the worker's task threads get it too). Raising it
    needs no privilege; it is never lowered: a pool started nicer than that (a benchmark's, or
    under `nice`) would otherwise, as root, take the cores from the web process."""
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: the calling thread, which starts the others
        threads = [0]
    for tid in threads:
        _nicer(tid, niceness)


@contextlib.contextmanager
def _gil_handed_back_sooner(interval_s: float = 0.0005):
    """A compile holds the GIL for as long as Python lets it (5 ms by default) each time a task
    thread of the same worker wants it back: a short interval keeps that task's wait short."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(interval_s)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _nicer(tid: int, niceness: int) -> None:
    """Thread `tid` (0: the calling one) at `niceness` at least."""
    with contextlib.suppress(OSError):  # a thread that has just ended
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, max(current, niceness))


MMAP_THRESHOLD = 32 * 2**20  # glibc's own ceiling for its sliding mmap threshold (64-bit)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)


def undo_dasks_malloc_trim() -> bool:
    """A worker started by `dask worker` (a shared pool) gets Dask's MALLOC_TRIM_THRESHOLD_,
    which switches off glibc's sliding mmap threshold: every temporary over 128 KiB is then
    mmapped and page-faulted afresh (t-SNE: ~1.1 M minor faults a fit instead of ~6,000, and
    ~1.4× the time). The environment is read once at start, so this sets what the sliding
    threshold would have grown to. The app's own workers never get the variable
    (dask_pool.worker_environ). True when there was something to undo."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: its allocator does not read the variable either
        return False
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    libc.mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD)  # glibc keeps trim at twice mmap
    return True


def _wait_until_idle(worker, quiet_seconds: float = 5.0) -> None:
    """Returns once the worker has run no task for `quiet_seconds` (checked each second)."""
    quiet = 0.0
    while quiet < quiet_seconds:
        time.sleep(1.0)
        busy = worker.state.executing_count or worker.state.ready
        quiet = 0.0 if busy else quiet + 1.0
