"""Stopping the web process at once on Ctrl-C or SIGTERM, with every process it started.

Without this, Ctrl-C waits for busy Dask workers (non-daemonic, running a task or a warm-up
in threads Python joins at exit) and for Dash's job processes, and SIGTERM kills the web
process alone, leaving the resource tracker to warn of leaked semaphores.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time

log = logging.getLogger(__name__)
STOPPING = threading.Event()  # set once the app is shutting down: background threads stay quiet


_web_process: int | None = None  # the pid that installed the handlers


def _interrupt(signum, frame) -> None:
    if os.getpid() != _web_process:
        # a process forked from the web process (a Dash job) inherits the handler: there the
        # signal does what it does by default, quietly
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt(signal.Signals(signum).name)


def handle_signals() -> None:
    """SIGTERM (and SIGINT, unless the shell ignores it) end the server loop as Ctrl-C does."""
    global _web_process
    _web_process = os.getpid()
    signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _interrupt)


def stop(grace: float = 2.0) -> None:
    """Stops the worker pool and every child process: SIGTERM, then SIGKILL after `grace` s."""
    import psutil

    from dashboard import dask_pool

    STOPPING.set()
    # the pool's connections close under it now: Dask's "comm closed" errors are expected noise
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut this short
            signal.signal(signum, signal.SIG_IGN)
    dask_pool.stop_restarting_workers()
    children = [p for p in _children(psutil) if not _is_resource_tracker(p)]
    for child in children:
        _signal(child, signal.SIGTERM)
    alive = _wait_gone(psutil, children, grace)
    for child in alive:
        _signal(child, signal.SIGKILL)
    _wait_gone(psutil, alive, grace)
    try:
        dask_pool.stop_local_cluster(timeout=grace)
    except Exception:  # the workers are gone already; the scheduler goes with this process
        log.debug("closing the worker pool", exc_info=True)


def ignore_interrupts_in_workers() -> None:
    """In a worker process: Ctrl-C (sent to the whole process group) is the web process's to
    handle, which then stops the workers; a worker's own KeyboardInterrupt only adds noise. The
    app's own workers have SIGINT blocked from birth (dask_pool.start_local_cluster); this
    covers a shared pool's workers (`dask worker --preload`) once they are up."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _children(psutil):
    try:
        return psutil.Process(os.getpid()).children(recursive=True)
    except psutil.Error:
        return []


def _wait_gone(psutil, processes, timeout: float) -> list:
    """Those of `processes` still running after `timeout` s. Polls rather than psutil.wait_procs,
    which would reap the workers' exit codes before their nannies read them."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in processes if _running(psutil, p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _running(psutil, process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # gone, reaped
        return False


def _is_resource_tracker(process) -> bool:
    """multiprocessing's resource tracker exits by itself once this process has cleaned up."""
    try:
        return "resource_tracker" in " ".join(process.cmdline())
    except Exception:
        return False


def _signal(process, signum: int) -> None:
    with contextlib.suppress(Exception):  # gone already
        process.send_signal(signum)
