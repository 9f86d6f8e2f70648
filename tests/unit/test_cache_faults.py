"""The cache folder full or read-only: a write fails whole (nothing half-written is ever read
back), the result goes to the overflow folder instead (read like the cache), and the server log
says so once; when the overflow cannot take it either, the user gets one sentence. On a real
64 KiB tmpfs when this machine lets the test mount one (root); otherwise ENOSPC is injected into
the cache's writes, and the test says so."""

from __future__ import annotations

import contextlib
import errno
import logging
import subprocess
import tempfile
from types import SimpleNamespace

import kombu.exceptions
import numpy as np
import pytest
import redis
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from dashboard import failures, store
from dashboard.store import Store

BIG = {"coords": np.random.default_rng(0).normal(size=(20_000, 2)).astype(np.float32)}  # 160 kB


def _fill_the_disk(folder, monkeypatch, real: bool, everywhere: bool = False) -> None:
    """The 64 KiB disk filled up for real, or (no tmpfs here) ENOSPC injected where a write
    starts: in `folder` only, or `everywhere` (the overflow folder too)."""
    mkstemp = tempfile.mkstemp

    def full(*args, **kwargs):
        if everywhere or str(kwargs.get("dir", "")).startswith(str(folder)):
            raise OSError(errno.ENOSPC, "No space left on device")
        return mkstemp(*args, **kwargs)

    if everywhere or not real:
        monkeypatch.setattr(store.tempfile, "mkstemp", full)
    if real:
        with contextlib.suppress(OSError), (folder / "filler").open("wb") as f:
            f.write(bytes(64 * 1024))


def test_a_full_cache_keeps_the_map_in_the_overflow_and_warns_once(small_disk, monkeypatch, caplog):
    folder, remount = small_disk
    cache = Store(folder)
    cache.save("coords-small01", {"coords": np.zeros((16, 2), np.float32)}, {"n": 16})
    _fill_the_disk(folder, monkeypatch, real=remount is not None)
    with caplog.at_level(logging.WARNING, logger="dashboard.store"):
        cache.save("coords-big0001", BIG, {"n": 20_000})
        cache.save("coords-big0002", BIG, {"n": 20_000})
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # once per cache folder
    assert str(cache.overflow) in caplog.records[0].getMessage()
    assert not list(folder.rglob(".tmp-*"))  # the partial file was removed, never renamed in
    assert not list(folder.rglob("coords-big*"))
    arrays, meta = cache.load("coords-big0001")
    np.testing.assert_array_equal(arrays["coords"], BIG["coords"])
    assert meta["n"] == 20_000 and cache.overflowed("coords-big0001")
    assert Store(folder).has("coords-big0002")  # another process finds it the same way
    assert cache.load("coords-small01")[1]["n"] == 16  # what was there is intact
    assert not cache.overflowed("coords-small01")
    assert (cache.overflow.stat().st_mode & 0o777) == 0o700


def test_a_read_only_cache_keeps_the_map_in_the_overflow(small_disk):
    folder, remount = small_disk
    if remount is None:
        pytest.skip("mounting a tmpfs is not allowed here (needs root)")
    cache = Store(folder)
    remount("ro")
    try:
        cache.save("coords-ro000001", {"coords": np.ones((4, 2), np.float32)}, {})
        assert cache.overflowed("coords-ro000001")
        assert cache.load("coords-ro000001")[0]["coords"].sum() == 8
        cache.discard("coords-ro000001")  # a read-only cache does not stop a discard
        assert not cache.has("coords-ro000001")
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            remount("rw")


def test_when_the_overflow_is_full_too_the_user_gets_one_sentence(small_disk, monkeypatch):
    folder, remount = small_disk
    cache = Store(folder)
    _fill_the_disk(folder, monkeypatch, real=remount is not None, everywhere=True)
    with pytest.raises(OSError) as raised:
        cache.save("coords-big0003", BIG, {"n": 20_000})
    assert raised.value.errno == errno.ENOSPC
    assert not cache.has("coords-big0003") and cache.load("coords-big0003") is None
    assert failures.user_message(raised.value) == failures.CACHE_FULL


def _raised_from(cause: Exception, exc: Exception) -> Exception:
    try:
        raise exc from cause
    except Exception as raised:
        return raised


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (KilledWorker("coords-x", SimpleNamespace(address="tcp://w"), 3), failures.WORKER_LOST),
        (FutureCancelledError("coords-x", "scheduler-connection-lost"), failures.POOL_DOWN),
        (OSError(errno.ENOSPC, "No space left on device"), failures.CACHE_FULL),
        (redis.ConnectionError("Error 111 connecting"), failures.QUEUE_DOWN),
        (kombu.exceptions.OperationalError("Error 111 connecting"), failures.QUEUE_DOWN),
        (
            _raised_from(redis.ConnectionError("refused"), RuntimeError("Retry limit exceeded")),
            failures.QUEUE_DOWN,
        ),
    ],
    ids=["worker-lost", "pool-gone", "disk-full", "redis-gone", "broker-gone", "results-gone"],
)
def test_each_fault_is_one_sentence_without_a_traceback(exc, message):
    text = failures.user_message(exc)
    assert text == message and "Traceback" not in text and text.count(". ") <= 2
