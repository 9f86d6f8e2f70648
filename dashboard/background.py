"""Dash's background-callback manager, for job bookkeeping only (results go to Store): a local
diskcache by default, Celery on Redis when REDIS_URL is set (several web machines).

diskcache pickles by default, and unpickling runs code (CVE-2025-69872): anyone who can write
into the job folder could run code in the web process. `JSONOnlyDisk` stores keys as plain
strings and values as JSON, and refuses to read an entry stored any other way. The folder is 0700.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import diskcache
from plotly.utils import PlotlyJSONEncoder

from dashboard.config import Settings
from dashboard.runtime import private_folder, runtime_dir

log = logging.getLogger(__name__)


class UnsafeCacheEntry(RuntimeError):
    """An entry of the job store that is not plain JSON: refused, never unpickled."""


class JSONOnlyDisk(diskcache.Disk):
    def put(self, key: Any) -> tuple[Any, bool]:
        if not isinstance(key, str):
            raise TypeError(f"job store keys are strings, got {type(key).__name__}")
        return key, True

    def get(self, key: Any, raw: bool) -> str:
        if not raw or not isinstance(key, str):
            raise UnsafeCacheEntry("a job store key is not a plain string: refused")
        return key

    def store(self, value: Any, read: bool, key: Any = diskcache.UNKNOWN):
        if read:
            raise TypeError("the job store keeps JSON values, not files")
        # Plotly's encoder, as Dash's own Celery manager: no_update and components become JSON
        return super().store(json.dumps(value, cls=PlotlyJSONEncoder).encode(), False, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if read or mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_BINARY):
            raise UnsafeCacheEntry("a job store entry is not JSON: refused")
        return json.loads(super().fetch(mode, filename, value, False))


class PatientCache(diskcache.Cache):
    """A diskcache whose writes wait for the lock as long as it takes. Dash's job process
    writes its result once; when that write timed out (SQLite locked for 60 s under load: a
    soak at load 10–15), the result was lost and the page waited for ever. A write that must
    not wait (a web request's) says retry=False."""

    def set(
        self,
        key: Any,
        value: Any,
        expire: float | None = None,
        read: bool = False,
        tag: str | None = None,
        retry: bool = True,
    ) -> bool:
        return super().set(key, value, expire=expire, read=read, tag=tag, retry=retry)


class ForkGate:
    """Keeps forks and SQLite apart. A job process forked while another thread of its web
    worker was inside an SQLite write inherits that lock's in-process bookkeeping, held by a
    thread the child does not have: every write of the child then waits for ever (job
    processes stuck for the whole of a load run, bench/load; tests/app/test_job_store.py).
    Many threads may use the stores at once; a fork waits until none does, and new uses wait
    for the fork (a fork is never starved)."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # the child's one thread uses nothing

    def _reset(self) -> None:
        self._changed = threading.Condition()
        self._inside = 0  # threads using a store
        self._forking = False
        self._depth = threading.local()  # a use within a use (a write inside transact) never waits

    @contextlib.contextmanager
    def using(self) -> Iterator[None]:
        depth = getattr(self._depth, "n", 0)
        if not depth:
            with self._changed:
                self._changed.wait_for(lambda: not self._forking)
                self._inside += 1
        self._depth.n = depth + 1
        try:
            yield
        finally:
            self._depth.n = depth
            if not depth:
                with self._changed:
                    self._inside -= 1
                    self._changed.notify_all()

    @contextlib.contextmanager
    def forking(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._forking)
            self._forking = True
            self._changed.wait_for(lambda: not self._inside)
        try:
            yield
        finally:
            with self._changed:
                self._forking = False
                self._changed.notify_all()


FORK_GATE = ForkGate()


class GatedCache(PatientCache):
    """A PatientCache whose every use goes through FORK_GATE."""

    @contextlib.contextmanager
    def transact(self, retry: bool = False) -> Iterator[None]:
        with FORK_GATE.using(), super().transact(retry):
            yield


def _gated(method: Callable) -> Callable:
    @functools.wraps(method)
    def gated(self, *args, **kwargs):
        with FORK_GATE.using():
            return method(self, *args, **kwargs)

    return gated


for _name in (
    *("__init__", "__contains__", "__getitem__", "__setitem__", "__delitem__", "__len__"),
    *("set", "touch", "add", "incr", "decr", "get", "read", "pop", "delete", "push", "pull"),
    *("peek", "peekitem", "check", "evict", "expire", "cull", "clear", "stats", "volume"),
    *("close", "reset"),
):
    setattr(GatedCache, _name, _gated(getattr(PatientCache, _name)))


def json_cache(folder: Path) -> diskcache.Cache:
    """A private (0700) diskcache that stores and reads JSON only, safe to fork beside."""
    private_folder(folder)  # bookkeeping is nobody else's to read or write
    return GatedCache(str(folder), disk=JSONOnlyDisk)


def job_cache(settings: Settings) -> diskcache.Cache:
    """In the runtime folder: jobs go on when the cache folder is full or read-only."""
    return json_cache(runtime_dir(settings.cache_dir) / "jobs")


@cache  # one per process: the manager and `celery -A app.celery worker` share it
def celery_app(redis_url: str):
    """Celery on Redis that speaks JSON only: task messages, results and Dash's own records."""
    from celery import Celery

    app = Celery("qkatlas", broker=redis_url, backend=redis_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # Redis restarted or briefly gone: a worker reconnects by itself however long it takes
        # (Celery's default gives up after 100 tries, ~45 min, and the worker exits)
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        # kombu's ack emulation keeps each fetched job in Redis until it is acknowledged; when
        # Redis died as a job was fetched, the worker's attempt to put it back crashed it
        # ("Unrecoverable error: AttributeError … 'hostname'", tests/deploy/test_redis_faults.py).
        # Jobs are acknowledged as they start anyway (Celery's default), and one job is fetched
        # per process at a time: without the emulation a fetched job is simply the worker's.
        broker_transport_options={"ack_emulation": False},
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        result_expires=3600,
    )
    return app


POLLED = "polled:{}"  # job id (its process's pid) -> when a page last asked about it
# a page waiting for a job asks every 0.7 s; a background tab's timers may fire only once a
# minute (Chrome's intensive throttling): five minutes of silence mean the page is gone
ABANDONED_S = 300.0
MARK_EVERY_S = 10.0  # polls come every 0.7 s: marking each was most of the job store's writes


def stop_when_abandoned(settings: Settings, every: float = 5.0, after: float = ABANDONED_S):
    """In a job process of the local manager: ends the job (as Cancel does, by killing its
    process) once no page has asked about it for `after` s since it started — its tab closed,
    its visitor gone. A job left running would hold its user's place in line and the workers'
    time, and its process would stay (bench/results-soak.md: job processes piling up in a soak).
    Never fails the job: the job store, busy under load, is read by the watcher thread alone."""
    from multiprocess import current_process

    if settings.redis_url or current_process().name == "MainProcess":
        return  # Celery's jobs, or a job run in-process (the CLI, tests): nobody polls them
    job, started = os.getpid(), time.time()

    def watch() -> None:
        cache = None
        while True:
            time.sleep(every)
            try:  # opening the store writes to it, as every poll's mark does
                cache = cache or job_cache(settings)
                seen = cache.get(POLLED.format(job))
            except (sqlite3.OperationalError, diskcache.Timeout):
                continue  # busy: look again next time
            # a mark older than this job is an earlier job's with the same pid
            if time.time() - max(seen or started, started) > after:
                log.warning("job %s: no page asked about it for %.0f s: stopped", job, after)
                os.kill(job, signal.SIGKILL)

    threading.Thread(target=watch, name="qk-atlas-abandoned", daemon=True).start()


def reap() -> None:
    """Joins the job processes that have ended (Dash starts them with `multiprocess`)."""
    from multiprocess import active_children

    active_children()


def _reap_forever(every: float = 5.0) -> None:
    while True:
        time.sleep(every)
        reap()


def manager(settings: Settings):
    if settings.redis_url:
        from dash import CeleryManager

        return CeleryManager(celery_app(settings.redis_url), expire=3600)
    # Each job is a fork of this process that talks to the pool: its client library is imported
    # here, once, not in every job (under load that import was a quarter of the web tier's CPU).
    import distributed  # noqa: F401
    from dash import DiskcacheManager

    marked: dict[int, float] = {}  # job → when this web process last wrote its poll mark

    class JobProcesses(DiskcacheManager):
        """Dash's manager, with its jobs' processes looked after: ended ones are reaped, a
        stopped one is left to that reaper (its pipe closes), and each poll marks its job as
        still wanted (stop_when_abandoned)."""

        def call_job_fn(self, key, job_fn, args, context):
            with FORK_GATE.forking():  # never while another thread is inside a store
                return super().call_job_fn(key, job_fn, args, context)

        def terminate_job(self, job):
            """Dash's stop (the job and its children killed), less its psutil wait: that reaped
            the job behind multiprocess's back, which then never let go of the job's pipe (a
            soak: ~15 open pipes a minute more in each web worker). The reaper joins it."""
            import psutil

            if job is None:
                return
            # one stop at a time (Dash's transaction); a job already gone has nothing to stop
            with self.handle.transact(), contextlib.suppress(psutil.NoSuchProcess):
                process = psutil.Process(int(job))
                for child in process.children(recursive=True):
                    with contextlib.suppress(psutil.NoSuchProcess):
                        child.kill()
                process.kill()
            reap()

        def job_running(self, job):
            reap()  # every poll asks this
            now = time.time()
            if now - marked.get(int(job), 0.0) > MARK_EVERY_S:  # not a store write every poll
                with contextlib.suppress(diskcache.Timeout, sqlite3.OperationalError):
                    self.handle.set(POLLED.format(int(job)), now, expire=3600, retry=False)
                    if len(marked) > 4096:  # bounded: a forgotten job is only marked again
                        marked.clear()
                    marked[int(job)] = now
            return super().job_running(job)

    # Dash never joins a job's process: an ended job stayed a zombie until the next job started
    # in this web worker (zombies at the end of bench/load's short run). Polls reap them, and
    # so does this thread, for jobs that end when nobody polls any more.
    threading.Thread(target=_reap_forever, name="qk-atlas-job-reaper", daemon=True).start()

    return JobProcesses(job_cache(settings), expire=3600)
