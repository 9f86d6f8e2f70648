"""Faults on a real Dask LocalCluster (2 worker processes) with a real on-disk store: a
cancelled job frees its workers, a killed worker costs nothing, a failure is never cached."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

from dashboard import catalog, dask_pool
from dashboard.cache_keys import MapParams
from dashboard.views import progress
from dashboard.views.data import add_corpus
from dashboard.views.request import resolve_request

CANCEL_WITHIN = 2.0  # s from Cancel until every worker runs a new task


def _corpus(n: int, topic: str = "attention") -> str:
    """`n` distinct sentences: tiny-bert makes ~14 tokens, 28 map points, of each."""
    return "\n".join(
        f"Sentence {i} says {topic} heads match the queries to keys." for i in range(n)
    )


def _request(method: str, text: str) -> dict:
    _, corpus_id, _ = add_corpus(text, [])
    return resolve_request("local/tiny-bert", corpus_id, method, 2, ["translate", "scale"])


def _job(settings, request) -> None:
    catalog.configure(settings)
    progress.run_request(request, lambda p: None)


def _start_job(svc, request):
    """The job in a process of its own, as Dash's background manager runs it."""
    child = multiprocessing.get_context("fork").Process(target=_job, args=(svc.settings, request))
    child.start()
    return child


def _executing(pool) -> set[str]:
    return set().union(
        *pool.run(lambda dask_worker: [str(t.key) for t in dask_worker.state.executing]).values()
    )


def _every_worker_answers(pool, timeout: float) -> bool:
    """A tiny task pinned to each worker: True when all of them ran within `timeout` s."""
    workers = list(pool.scheduler_info()["workers"])
    futures = [
        pool.submit(time.monotonic, workers=[w], allow_other_workers=False, pure=False)
        for w in workers
    ]
    deadline = time.monotonic() + timeout
    while not all(f.done() for f in futures):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_cancel_stops_the_running_fits_and_frees_the_workers(svc, pool_address):
    """Dash's Cancel kills the job process (SIGKILL): the t-SNE heads being fitted on the
    workers stop within CANCEL_WITHIN s, so the next job's tasks start at once."""
    request = _request("tsne", _corpus(160))  # ~4,500 points a head: seconds of t-SNE each
    subject, _ = svc.subject(request["model"], request["corpus"])
    params = MapParams.from_dict(request["params"])
    tsne_keys = {
        dask_pool.task_key(subject, subject.coords_key(layer, head, params)): (layer, head)
        for layer, head in subject.heads()
    }
    with dask_pool.client(pool_address) as pool:
        child = _start_job(svc, request)
        deadline = time.monotonic() + 120
        while not (fitting := _executing(pool) & tsne_keys.keys()):
            assert child.is_alive() and time.monotonic() < deadline, "no t-SNE head started"
            time.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)  # what Dash's cancel does to the job process
        child.join()
        started = time.monotonic()
        assert _every_worker_answers(pool, CANCEL_WITHIN), "a worker still busy after Cancel"
        assert time.monotonic() - started <= CANCEL_WITHIN
        # stopped, not finished: the heads being fitted at the Cancel were never stored
        stopped = [tsne_keys[k] for k in fitting]
        assert not any(svc.store.has(subject.coords_key(*lh, params)) for lh in stopped)
        assert not list(svc.store.root.rglob(".tmp-*"))
