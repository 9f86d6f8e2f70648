"""The worker warm-up's numba compile gives way to the worker's tasks."""

import os
import sys
import threading

from dashboard import warmup, worker_tasks


def test_the_warm_up_compile_yields_to_tasks(monkeypatch):
    """The compile (~60 s of numba; a probe stands in for it here, so that the test stays
    quick) runs at COMPILE_NICENESS with a short GIL switch interval: a request that comes
    meanwhile gets the cores and the GIL first. Other threads and the interval are left as
    they were."""
    seen: dict[str, float] = {}

    def probe() -> float:
        seen["niceness"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["interval"] = sys.getswitchinterval()
        return 0.0

    monkeypatch.setattr(worker_tasks, "warm_numba", probe)
    monkeypatch.setattr(warmup, "_wait_until_idle", lambda worker: None)
    before = sys.getswitchinterval()
    compiling = threading.Thread(target=warmup.Warmup(None, "", warm_umap=True)._run, args=(None,))
    compiling.start()
    compiling.join()
    assert seen["niceness"] == warmup.COMPILE_NICENESS
    assert seen["interval"] < before
    assert sys.getswitchinterval() == before
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < warmup.COMPILE_NICENESS
