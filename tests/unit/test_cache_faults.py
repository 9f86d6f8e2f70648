"""The cache folder full or read-only: a write fails whole (nothing half-written is ever read
back) and the user gets one sentence. On a real 64 KiB tmpfs when this machine lets the test
mount one (root); otherwise ENOSPC is injected into the write, and the test says so."""

from __future__ import annotations

import contextlib
import errno
import subprocess
from types import SimpleNamespace

import kombu.exceptions
import numpy as np
import pytest
import redis
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from dashboard import dask_pool
from dashboard.store import Store


@pytest.fixture
def small_disk(tmp_path):
    """(folder, remount) on a real 64 KiB tmpfs, or (folder, None) when mounting is refused."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        yield folder, None
        return

    def remount(options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)

    try:
        yield folder, remount
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill_the_disk(monkeypatch, real: bool) -> None:
    if not real:  # no tmpfs here: inject what a full disk answers (a real one when root)

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr("dashboard.store.np.savez", full)


def test_a_full_cache_fails_the_write_whole(small_disk, monkeypatch):
    folder, remount = small_disk
    store = Store(folder)
    store.save("coords-small01", {"coords": np.zeros((16, 2), np.float32)}, {"n": 16})
    _fill_the_disk(monkeypatch, real=remount is not None)
    big = {"coords": np.random.default_rng(0).normal(size=(20_000, 2)).astype(np.float32)}
    with pytest.raises(OSError) as raised:
        store.save("coords-big0001", big, {"n": 20_000})  # 160 kB on a 64 KiB disk
    assert raised.value.errno == errno.ENOSPC
    assert not store.has("coords-big0001") and store.load("coords-big0001") is None
    assert not list(folder.rglob(".tmp-*"))  # the partial file was removed, never renamed in
    assert store.load("coords-small01")[1]["n"] == 16  # what was there is intact
    assert dask_pool.user_message(raised.value) == dask_pool.CACHE_FULL


def test_a_read_only_cache_fails_the_write_and_says_so(small_disk):
    folder, remount = small_disk
    if remount is None:
        pytest.skip("mounting a tmpfs is not allowed here (needs root)")
    store = Store(folder)
    remount("ro")
    with pytest.raises(OSError) as raised:
        store.save("coords-ro000001", {"coords": np.zeros((4, 2), np.float32)}, {})
    assert raised.value.errno == errno.EROFS
    assert dask_pool.user_message(raised.value) == dask_pool.CACHE_FULL
    with contextlib.suppress(subprocess.CalledProcessError):
        remount("rw")


def _raised_from(cause: Exception, exc: Exception) -> Exception:
    try:
        raise exc from cause
    except Exception as raised:
        return raised


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (KilledWorker("coords-x", SimpleNamespace(address="tcp://w"), 3), dask_pool.WORKER_LOST),
        (FutureCancelledError("coords-x", "scheduler-connection-lost"), dask_pool.POOL_DOWN),
        (OSError(errno.ENOSPC, "No space left on device"), dask_pool.CACHE_FULL),
        (redis.ConnectionError("Error 111 connecting"), dask_pool.QUEUE_DOWN),
        (kombu.exceptions.OperationalError("Error 111 connecting"), dask_pool.QUEUE_DOWN),
        (
            _raised_from(redis.ConnectionError("refused"), RuntimeError("Retry limit exceeded")),
            dask_pool.QUEUE_DOWN,
        ),
    ],
    ids=["worker-lost", "pool-gone", "disk-full", "redis-gone", "broker-gone", "results-gone"],
)
def test_each_fault_is_one_sentence_without_a_traceback(exc, message):
    text = dask_pool.user_message(exc)
    assert text == message and "Traceback" not in text and text.count(". ") <= 2
