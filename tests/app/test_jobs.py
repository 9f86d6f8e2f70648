"""Jobs on a real Dask LocalCluster (2 worker processes), with a real on-disk store."""

import multiprocessing
import os
import signal
import time

from dash import no_update

from dashboard import catalog
from dashboard.cache_keys import MapParams
from dashboard.config import Limits, Settings
from dashboard.views import progress
from dashboard.views.data import add_corpus
from dashboard.views.request import resolve_request
from tests.deploy.servers import wait_until

SENTENCES = "\n".join(
    [
        "The quick brown fox jumps over the lazy dog.",
        "Attention heads match queries to keys.",
        "Paris is the capital of France.",
        "A short one.",
    ]
)


def test_workers_run_one_thread_without_dasks_malloc_trim_threshold(pool_address):
    """Dask's MALLOC_TRIM_THRESHOLD_ switches off glibc's sliding mmap threshold: t-SNE ran
    much slower in a worker than in a plain process (bench/tsne.py)."""
    from distributed import Client

    names = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    with Client(pool_address) as client:
        client.wait_for_workers(Settings().n_workers, timeout=120)  # one killed by a fault test
        environs = client.run(lambda: [os.environ.get(name) for name in names])
    assert len(environs) == Settings().n_workers
    assert all(environ == [None, "1", "1"] for environ in environs.values())


def test_workers_yield_the_cores_to_the_web_process(pool_address):
    """Every thread of every worker runs at WORKER_NICENESS (the web process at 0): pages
    stay quick on a machine whose cores the maps keep busy."""
    from distributed import Client

    from dashboard.warmup import WORKER_NICENESS

    def niceness() -> set[int]:
        tasks = os.listdir("/proc/self/task")
        return {os.getpriority(os.PRIO_PROCESS, int(tid)) for tid in tasks}

    with Client(pool_address) as client:
        client.wait_for_workers(Settings().n_workers, timeout=120)
        in_workers = client.run(niceness)
        in_a_task = client.submit(niceness, pure=False).result()
    assert all(found == {WORKER_NICENESS} for found in in_workers.values()), in_workers
    assert in_a_task == {WORKER_NICENESS}
    assert os.getpriority(os.PRIO_PROCESS, 0) < WORKER_NICENESS  # this (web-side) process


def _request(svc, method="pca", text=SENTENCES):
    _, corpus_id, _ = add_corpus(text, [])
    return resolve_request("local/tiny-bert", corpus_id, method, 2, ["translate", "scale"])


def test_full_matrix_then_everything_from_cache(svc, pool_address):
    request = _request(svc)
    reports = []
    result = progress.run_request(request, reports.append)
    assert result == {"key": request["key"], "status": "done", "message": ""}
    assert reports[-1]["phase"] == "done" and sorted(reports[-1]["ready"]["final"]) == list(
        range(8)
    )
    subject, _ = svc.subject(request["model"], request["corpus"])
    heads = subject.heads()
    assert all(svc.store.has(subject.coords_key(*head, MapParams())) for head in heads)
    # the job ended with its maps: their metrics follow on the workers (fire and forget), after
    # the job's own connection to the pool has closed
    assert not any(r["phase"].startswith("measuring") for r in reports)
    wait_until(
        lambda: all(svc.store.has(subject.metrics_key(*head, MapParams())) for head in heads),
        "every head's metrics in the cache after the job",
        60,
    )

    again = []
    progress.run_request(request, again.append)
    # every head was ready before any task ran: the report after submission already has all 8
    assert again[1]["done"] == 8 and len(again) == 3
    # so the page needs no job for it: it gets the end the job reports, without a job process
    assert progress.start_job(request, None, None) == (no_update, again[-1], result)


def test_a_request_with_anything_left_to_compute_starts_a_job(svc, pool_address):
    request = _request(svc, text="A corpus nobody mapped before.\nIts maps are not cached.")
    assert progress.start_job(request, None, None) == (request, no_update, no_update)
    progress.run_request(request, lambda report: None)
    subject, _ = svc.subject(request["model"], request["corpus"])
    wait_until(
        lambda: all(svc.store.has(subject.metrics_key(*h, MapParams())) for h in subject.heads()),
        "every head's metrics in the cache after the job",
        60,
    )
    # cached now: a job still running for the request shown before is ended (its callback is
    # called again, with nothing to do), one that has ended is left alone
    earlier = {**request, "key": "an earlier request"}
    ended, progress_now, result = progress.start_job(request, earlier, None)
    assert ended is None and progress_now["phase"] == "done" and result["status"] == "done"
    finished = {"key": earlier["key"], "status": "done", "message": ""}
    assert progress.start_job(request, earlier, finished)[0] is no_update
    # so is one lost with the job queue, whose end could not name its request (a poll's)
    lost = progress.job_lost(ConnectionError("Redis"), None)
    assert progress.start_job(request, earlier, lost)[0] is no_update


def test_slow_method_first_fills_the_matrix_with_pca(svc, pool_address):
    request = _request(svc, method="tsne")
    reports = []
    assert progress.run_request(request, reports.append)["status"] == "done"
    first_final = next(i for i, r in enumerate(reports) if r["ready"]["final"])
    assert len(reports[first_final]["ready"]["pca"]) == 8  # every cell had its PCA map first
    assert len(reports[-1]["ready"]["final"]) == 8
    # progress counts the t-SNE maps only: 0 of 8 while the PCA stand-ins fill the matrix
    assert all(r["total"] == 8 and r["method"] == "t-SNE" for r in reports)
    assert reports[first_final - 1]["done"] == 0 and reports[first_final - 1]["stand_ins"] == 8
    assert [r["done"] for r in reports[first_final:-1]] == list(range(1, 9))
    assert reports[-1]["phase"] == "done"
    # and estimates the time left from the pace of the maps done, until the last one
    etas = [r["eta_s"] for r in reports[first_final:-1]]
    assert all(eta > 0 for eta in etas[:-1]) and etas[-1] == 0 and reports[-1]["eta_s"] is None
    bar, top, text = progress.show_progress(reports[first_final])
    assert (bar, top) == ("1", "8") and "1 of 8 t-SNE maps" in text and "left" in text


def _run_in_child(settings, request):
    catalog.configure(settings)
    progress.run_request(request, lambda p: None)


def test_cancelled_job_keeps_finished_heads(svc, pool_address):
    """Kill the job process midway, as Dash's cancel does: finished maps stay, the rest resume."""
    text = "\n".join(
        f"Sentence number {i} talks about attention heads and their keys." for i in range(40)
    )
    request = _request(svc, method="tsne", text=text)
    subject, _ = svc.subject(request["model"], request["corpus"])
    params = MapParams.from_dict(request["params"])
    keys = [subject.coords_key(layer, head, params) for layer, head in subject.heads()]
    child = multiprocessing.get_context("fork").Process(
        target=_run_in_child, args=(svc.settings, request)
    )
    child.start()
    deadline = time.time() + 120
    while time.time() < deadline and not any(svc.store.has(k) for k in keys):
        time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    done_at_cancel = sum(svc.store.has(k) for k in keys)
    assert 1 <= done_at_cancel < len(keys)
    assert not list(svc.store.root.rglob(".tmp-*"))  # no half-written files

    reports = []
    assert progress.run_request(request, reports.append)["status"] == "done"
    assert len(reports[1]["ready"]["final"]) >= done_at_cancel  # resumed, not restarted
    assert all(svc.store.has(k) for k in keys)


def test_failed_job_shows_its_error_and_caches_nothing(tmp_path, model_dirs, pool_address):
    svc = catalog.configure(
        Settings(
            cache_dir=tmp_path / "c",
            model_dirs=(model_dirs,),
            warm_umap=False,
            limits=Limits(max_tokens=20),
        )
    )
    # two words by the estimate, but dozens of word pieces: only the real tokenizer can tell
    request = _request(
        svc, text="Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism"
    )
    result = progress.run_request(request, lambda p: None)
    assert result["status"] == "error" and "QKATLAS_MAX_TOKENS" in result["message"]
    assert not list((tmp_path / "c").glob("coords/**/*.npz"))
    assert not list((tmp_path / "c").glob("tokens/**/*.npz"))


def test_a_progress_report_lost_to_a_busy_job_store_does_not_fail_the_job():
    # Under load the job store's SQLite lock timed out on a progress write, and the job failed
    # with "The computation failed (Timeout)" (bench/load, 20 users).
    import diskcache

    sent = []

    def store(progress: dict) -> None:
        if not sent:
            sent.append(None)
            raise diskcache.Timeout
        sent.append(progress)

    reporting = progress.best_effort(store)
    reporting({"done": 1})  # lost, not raised
    reporting({"done": 2})
    assert sent == [None, {"done": 2}]


def test_the_scheduler_forgets_past_jobs_beyond_its_bound(pool_address, monkeypatch):
    """The pool's scheduler lives in the web process: every job's client left its event topic
    behind, and every busy period its span, for good (RSS +31 MiB over 90 matrices,
    bench/cancel_memory.py). After twice KEPT_SPANS jobs, no departed job's topic is left and
    at most KEPT_SPANS of their spans; a span whose tasks the scheduler still holds stays; and
    the workers' next heartbeats, which report on spans pruned meanwhile, keep them working
    (the scheduler failed them with a KeyError, and each worker closed)."""
    from operator import add, mul

    from distributed import Client, span

    from dashboard import dask_pool, scheduler_memory

    kept = scheduler_memory.KEPT_SPANS
    scheduler = dask_pool._cluster.scheduler  # in this process, as in the web process
    monkeypatch.setattr(scheduler_memory, "SPAN_GRACE_S", 0.0)  # read by the plugin as it runs
    assert scheduler.computations.maxlen == kept
    nannies = dask_pool._cluster.workers.values()
    monitors = [scheduler.monitor, *(nanny.monitor for nanny in nannies)]
    assert {monitor.maxlen for monitor in monitors} == {scheduler_memory.MONITOR_SAMPLES}
    assert scheduler._deque_handler.deque.maxlen == scheduler_memory.LOG_RECORDS
    low_level = [
        scheduler.transition_log,
        *(bcomm.recent_message_log for bcomm in scheduler.stream_comms.values()),
    ]
    assert {log.maxlen for log in low_level} == {scheduler_memory.LOW_LEVEL_ENTRIES}

    with Client(pool_address) as holder:
        holder.wait_for_workers(Settings().n_workers, timeout=120)  # one killed by a fault test
        workers = set(scheduler.workers)
        with span("qk-test-held"):  # its own task group ("mul"): the jobs' go to their spans
            held = holder.submit(mul, 2, 3, pure=False)
        assert held.result() == 6
        jobs = []
        for i in range(2 * kept):
            with dask_pool.client(pool_address) as pool, span(f"qk-test-job-{i}"):
                sums = pool.gather([pool.submit(add, i, j, pure=False) for j in range(3)])
                assert sums == [i, i + 1, i + 2]
                jobs.append(pool.id)
        wait_until(
            lambda: not any(job in scheduler.clients for job in jobs), "jobs' clients gone", 30
        )
        names = [root.name[0] for root in scheduler.extensions["spans"].root_spans]
        assert "qk-test-held" in names
        # two heartbeats of each worker since the pruning: each reports on the spans pruned
        since = time.time()
        wait_until(
            lambda: all(ws.last_seen > since + 1 for ws in scheduler.workers.values()),
            "the workers' heartbeats after the pruning",
            30,
        )
        ran_on = holder.run(lambda: 1)
    assert not [job for job in jobs if job in scheduler._broker._topics]
    assert 0 < sum(name.startswith("qk-test-job-") for name in names) <= kept
    assert set(ran_on) == workers == set(scheduler.workers)


def test_metrics_left_to_the_workers_leave_no_task_behind(svc, pool_address):
    """The scheduler lets a fire-and-forget task go as it finishes: one that had finished before
    its fire-and-forget reached the scheduler (the first heads' metrics, while the launcher was
    still submitting the others) stayed in memory for good, with its task group and span."""
    from dashboard import dask_pool

    scheduler = dask_pool._cluster.scheduler
    keys = set()
    for i in range(3):
        request = _request(svc, text=f"{SENTENCES}\nCorpus {i} of the metrics test.")
        assert progress.run_request(request, lambda p: None)["status"] == "done"
        subject, _ = svc.subject(request["model"], request["corpus"])
        for head in subject.heads():
            keys.add(dask_pool.task_key(subject, subject.metrics_key(*head, MapParams())))
    wait_until(lambda: not keys & set(scheduler.tasks), "every metrics task forgotten", 60)
