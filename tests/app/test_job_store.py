"""The job store (Dash's background-callback bookkeeping) never unpickles what it reads.

A real diskcache on disk and Dash's real DiskcacheManager; the planted rows are written with
sqlite3 straight into the store's database, as anyone with write access to the folder could."""

import os
import pickle
import signal
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import diskcache
import pytest

from dashboard import background
from dashboard.background import UnsafeCacheEntry, job_cache, manager, stop_when_abandoned
from dashboard.config import Settings
from dashboard.runtime import UnsafeFolder, runtime_dir


class Payload:
    """Unpickling this creates a file: proof that pickled code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(folder, key, value: bytes, *, raw_key: bool = True) -> None:
    db = sqlite3.connect(folder / "cache.db")
    now = time.time()
    db.execute(
        "INSERT OR REPLACE INTO Cache (key, raw, store_time, expire_time, access_time, "
        "access_count, tag, size, mode, filename, value) VALUES (?, ?, ?, NULL, ?, 0, NULL, 0, ?, "
        "NULL, ?)",
        (key, raw_key, now, now, diskcache.core.MODE_PICKLE, sqlite3.Binary(value)),
    )
    db.commit()
    db.close()


def test_job_store_round_trips_json_and_is_private(tmp_path):
    cache = job_cache(Settings(cache_dir=tmp_path))
    cache.set("progress", [{"done": 3, "total": 72}])
    cache.set("result", {"status": "done", "message": ""})
    assert cache.get("progress") == [{"done": 3, "total": 72}]
    assert cache.get("result") == {"status": "done", "message": ""}
    folder = runtime_dir(tmp_path) / "jobs"  # outside the cache: a full cache stops no job
    assert os.stat(folder).st_mode & 0o777 == 0o700 and not (tmp_path / "jobs").exists()
    with pytest.raises(TypeError):
        cache.set(("a", "tuple"), 1)  # a key that diskcache would pickle
    # what Dash stores for a job that ends with no_update, or returns components
    from dash import html, no_update
    from dash._no_update import NoUpdate

    cache.set("nothing", no_update)
    assert NoUpdate.is_no_update(cache.get("nothing"))
    cache.set("children", [html.B("done"), " and dusted"])
    assert cache.get("children")[0]["props"]["children"] == "done"


def test_a_planted_pickle_never_runs(tmp_path):
    settings = Settings(cache_dir=tmp_path)
    background = manager(settings)
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Payload(str(marker)))
    folder = runtime_dir(tmp_path) / "jobs"

    # where Dash reads a job's result and progress
    _plant(folder, "job-key", evil)
    _plant(folder, "job-key-progress", evil)
    with pytest.raises(UnsafeCacheEntry):
        background.get_result("job-key", None)
    with pytest.raises(UnsafeCacheEntry):
        background.get_progress("job-key")
    # a pickled key (raw = 0) is refused too, when listed
    _plant(folder, evil, pickle.dumps("x"), raw_key=False)
    with pytest.raises(UnsafeCacheEntry):
        list(diskcache.Cache(str(folder), disk=type(background.handle.disk)).iterkeys())
    assert not marker.exists(), "pickled code ran"
    # the control: the same bytes through plain pickle do run (the payload is real)
    pickle.loads(evil)
    assert marker.exists()


def test_stopping_a_job_that_just_ended_is_no_error(tmp_path, monkeypatch):
    # The race seen under load: Dash checks that the job's process exists, then lists its
    # children; if the job ends in between, psutil raised NoSuchProcess and the poll was a 500.
    # The moment between the two calls cannot be hit on purpose, so the process has ended (and
    # been reaped) and psutil.pid_exists is made to answer as it did a moment before.
    import subprocess

    import psutil

    jobs = manager(Settings(cache_dir=tmp_path))
    ended = subprocess.Popen(["true"])
    ended.wait()
    monkeypatch.setattr(psutil, "pid_exists", lambda pid: True)
    jobs.terminate_job(ended.pid)  # no NoSuchProcess


def test_stopping_a_running_job_still_ends_it_and_its_children(tmp_path):
    import subprocess

    import psutil

    jobs = manager(Settings(cache_dir=tmp_path))
    parent = subprocess.Popen(["sh", "-c", "sleep 60 & wait"])
    child = psutil.Process(parent.pid)
    deadline = time.monotonic() + 10
    while not child.children() and time.monotonic() < deadline:
        time.sleep(0.05)  # the shell starts its child
    (grandchild,) = child.children()
    jobs.terminate_job(parent.pid)
    assert parent.wait(timeout=5) is not None
    grandchild.wait(timeout=5)
    assert not grandchild.is_running()


def _exit_at_once(*_args) -> None:
    return None


def test_an_ended_job_is_reaped_when_it_is_polled(tmp_path):
    import psutil

    jobs = manager(Settings(cache_dir=tmp_path))
    pid = jobs.call_job_fn("key", _exit_at_once, (), {})
    child = psutil.Process(pid)
    deadline = time.monotonic() + 30
    while child.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)  # the job ends: a zombie until its parent reaps it
    assert jobs.job_running(pid) is False  # a poll asks this
    assert not psutil.pid_exists(pid), "the ended job was reaped"


def test_an_ended_job_nobody_polls_is_reaped_within_seconds(tmp_path):
    import psutil

    jobs = manager(Settings(cache_dir=tmp_path))
    pid = jobs.call_job_fn("key", _exit_at_once, (), {})
    deadline = time.monotonic() + 30
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # the reaper thread joins it (every 5 s)
    assert not psutil.pid_exists(pid), "an ended job stayed a zombie"


def test_a_runtime_folder_planted_by_someone_else_is_refused(tmp_path, monkeypatch):
    """The job store lives under the system's temporary folder, which strangers can write: a
    folder they made first (or a symlink to theirs) is refused, never used."""
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir(mode=0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    settings = Settings(cache_dir=tmp_path / "cache")
    planted = runtime_dir(settings.cache_dir)
    planted.parent.mkdir()
    (tmp_path / "theirs").mkdir()
    planted.symlink_to(tmp_path / "theirs")
    with pytest.raises(UnsafeFolder, match="not this user's own folder"):
        job_cache(settings)
    assert not list((tmp_path / "theirs").iterdir())
    if os.getuid() == 0:  # root can make a folder someone else's: the owner check too
        planted.unlink()
        planted.mkdir()
        os.chown(planted.parent, 4242, 4242)
        with pytest.raises(UnsafeFolder):
            job_cache(settings)


def _a_long_job(settings: Settings, after: float) -> None:
    stop_when_abandoned(settings, every=0.05, after=after)
    time.sleep(120)


def test_a_job_no_page_asks_about_any_more_is_stopped(tmp_path, monkeypatch):
    """Three job processes started as Dash starts them (multiprocess): the page keeps asking
    about one (each poll goes through job_running); another's page is gone; the third's page
    never asked at all. Those two end themselves as Cancel would (SIGKILL) once nobody asked
    for `after` s (counted from the start for the third); the first runs on."""
    from multiprocess import Process

    settings = Settings(cache_dir=tmp_path)
    jobs = manager(settings)
    after = 1.0
    monkeypatch.setattr(background, "MARK_EVERY_S", after / 10)  # as 10 s is to 300 s
    kept, left, never = (Process(target=_a_long_job, args=(settings, after)) for _ in range(3))
    for job in (kept, left, never):
        job.start()
    try:
        assert jobs.job_running(kept.pid) and jobs.job_running(left.pid)  # both seen started
        deadline = time.monotonic() + 30
        while left.is_alive() or never.is_alive():
            assert time.monotonic() < deadline, "an abandoned job still runs"
            assert jobs.job_running(kept.pid)  # its page asks on
            time.sleep(0.1)
        assert left.exitcode == never.exitcode == -signal.SIGKILL
        assert kept.is_alive(), "a job its page asks about is never stopped"
    finally:
        for job in (kept, left, never):
            job.kill()
            job.join()


def _a_job_on_a_busy_store(settings: Settings) -> None:
    stop_when_abandoned(settings, every=0.05, after=60)
    time.sleep(0.5)  # the watcher looks ~10 times meanwhile, and finds the store locked each time


def test_a_busy_job_store_never_fails_a_job(tmp_path, monkeypatch):
    """Under load the job store's SQLite stays locked for long (a soak: "database is locked" as
    a job opened it, and the job failed); watching for abandonment must not fail the job."""
    from multiprocess import Process

    def locked(settings):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(background, "job_cache", locked)  # the fork inherits it
    job = Process(target=_a_job_on_a_busy_store, args=(Settings(cache_dir=tmp_path),))
    job.start()
    job.join(30)
    assert job.exitcode == 0


def test_a_job_result_waits_out_a_locked_store(tmp_path):
    """Dash writes a job's result once: a write that timed out on a locked store lost it (the
    page waited for ever). The job store's writes wait the lock out; a web request's mark, which
    must not wait, still gives up."""
    import threading

    from dashboard.background import JSONOnlyDisk, PatientCache

    cache = PatientCache(str(tmp_path), timeout=0.05, disk=JSONOnlyDisk)  # SQLite's wait: 50 ms
    holder = sqlite3.connect(tmp_path / "cache.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's write, holding the lock
    with pytest.raises(diskcache.Timeout):
        cache.set("polled:1", 1.0, retry=False)
    threading.Timer(0.5, holder.rollback).start()  # ten times SQLite's own wait
    assert cache.set("result", {"status": "done"})
    assert cache.get("result") == {"status": "done"}
    holder.close()


def test_a_stopped_job_leaves_no_open_pipe(tmp_path):
    """Each job process is watched through a pipe the web worker holds until the job is joined;
    stopped jobs were reaped behind multiprocess's back and their pipes stayed open for ever
    (a soak: open files growing ~15 a minute per web worker)."""
    import gc

    from multiprocess import Process

    jobs = manager(Settings(cache_dir=tmp_path))
    open_before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        job = Process(target=time.sleep, args=(60,))
        job.start()
        jobs.terminate_job(job.pid)
        del job
    deadline = time.monotonic() + 20  # the reaper thread looks every 5 s
    while len(os.listdir("/proc/self/fd")) > open_before:
        assert time.monotonic() < deadline, "a stopped job's pipe is still open"
        gc.collect()
        time.sleep(0.2)


def _write_the_result(key, progress_key, _args, _context) -> None:
    job_cache(Settings(cache_dir=Path(os.environ["QKATLAS_CACHE_DIR"]))).set(key, "done")


def test_a_job_started_while_the_web_worker_writes_still_writes_its_result(tmp_path, monkeypatch):
    """A job forked while another thread of its web worker is inside a job-store write
    inherited that write's lock bookkeeping without the thread that held it: all its own writes
    then waited for ever (job processes stuck in a load run). The start waits for the write."""
    monkeypatch.setenv("QKATLAS_CACHE_DIR", str(tmp_path))
    settings = Settings(cache_dir=tmp_path)
    jobs = manager(settings)
    store = job_cache(settings)
    inside, release, started = threading.Event(), threading.Event(), []
    writer = threading.Thread(target=_hold_a_write, args=(store, inside, release))
    writer.start()
    assert inside.wait(10)
    starter = threading.Thread(
        target=lambda: started.append(jobs.call_job_fn("job-key", _write_the_result, (), {}))
    )
    starter.start()
    starter.join(0.5)
    assert not started, "a job was forked in the middle of another thread's write"
    release.set()
    writer.join(10)
    starter.join(10)
    assert started, "the job never started once the write was over"
    deadline = time.monotonic() + 20
    while store.get("job-key") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.get("job-key") == "done", "the job could not write its result"


def _hold_a_write(store, inside: threading.Event, release: threading.Event) -> None:
    with store.transact():
        store.set("held", 1)
        inside.set()
        release.wait(30)
