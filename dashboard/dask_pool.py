"""The worker pool: a Dask cluster (LocalCluster started with the app, or an existing one).

Task keys are cache keys, so identical requests from several sessions share one computation.
`distributed` is imported lazily: importing the dashboard stays fast.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.cache_keys import MapParams, Subject
from dashboard.config import Settings
from dashboard.errors import PoolMismatch, PoolUnavailable
from dashboard.failures import OTHER_VERSION, POOL_DOWN
from dashboard.models.corpora import Corpus
from dashboard.projection.methods import METHODS
from dashboard.store import Store

log = logging.getLogger(__name__)
ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"
_cluster: Any = None
_starting: Future | None = None  # the pool's start, while under way
LOST_WORKER_TIMEOUT = "1 hour"  # a nanny restarting its worker is left to it


def worker_environ() -> dict[str, Any]:
    """The environment a nanny gives its worker: Dask's, less MALLOC_TRIM_THRESHOLD_. Setting
    it (Dask sets 64 KiB, to hand freed memory back to the OS sooner) also switches off glibc's
    sliding mmap threshold, so every array over 128 KiB is mmapped, page-faulted and unmapped
    afresh: a t-SNE fit measured ~1.4× slower in a worker than in a plain process
    (bench/tsne.py). The one-thread settings (OMP_NUM_THREADS, …) stay."""
    import dask
    import distributed  # noqa: F401  (its import adds its defaults to dask.config)

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


def start_local_cluster(settings: Settings, warm_model: Any = None, fingerprint: str = "") -> str:
    """Starts the default pool once per web process; its address is exported to job processes.

    The pool starts in a thread of its own that blocks SIGINT. Its IO loop thread, and so every
    worker process spawned from there (restarts too), inherit that mask, as multiprocessing's
    resource tracker does (bpo-33613): a terminal's Ctrl-C, sent to the whole process group,
    reaches this process alone, which then stops the workers (shutdown.stop), instead of
    interrupting workers mid-import, each printing a traceback. This thread waits for the pool
    interruptibly; if a signal cuts the wait short, stop_local_cluster finishes the job."""
    global _cluster, _starting
    if _cluster is None:
        if _starting is None:
            _starting = Future()
            threading.Thread(
                target=_start,
                args=(_starting, settings, warm_model, fingerprint),
                name="qk-atlas-pool-start",
                daemon=True,  # an interrupted start must not hold up the process's exit
            ).start()
        _cluster = _starting.result()
        _starting = None
        os.environ[ADDRESS_ENV] = _cluster.scheduler_address
    return _cluster.scheduler_address


def _start(started: Future, settings: Settings, warm_model: Any, fingerprint: str) -> None:
    from multiprocessing import resource_tracker

    try:
        resource_tracker.ensure_running()  # launching it unblocks SIGINT in the launching thread
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        started.set_result(_local_cluster(settings, warm_model, fingerprint))
    except Exception as exc:
        started.set_exception(exc)


def _local_cluster(settings: Settings, warm_model: Any, fingerprint: str) -> Any:
    import dask
    from distributed import Client, LocalCluster

    from dashboard import scheduler_memory
    from dashboard.warmup import Warmup

    dask.config.set(
        {
            # the scheduler lives in this (the web) process for as long as it runs
            **scheduler_memory.CONFIG,
            "distributed.worker.daemon": False,
            "logging.distributed": "warning",
            "distributed.nanny.pre-spawn-environ": worker_environ(),
            # a LocalCluster closes the nanny of a worker not back 15 s after it was lost (Dask's
            # default): a worker killed on a busy machine (out of memory, kill -9) restarted
            # slower than that, and the pool ran on one worker for the rest of its life
            "distributed.deploy.lost-worker-timeout": LOST_WORKER_TIMEOUT,
        }
    )
    cluster = LocalCluster(
        n_workers=settings.n_workers,
        threads_per_worker=1,  # one thread each: seeded UMAP/t-SNE scale by processes
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # the scheduler's small HTTP server always starts: a random loopback port, not 8787
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        scheduler_port=0,
        silence_logs=logging.WARNING,
    )
    try:
        with Client(cluster) as client:
            client.register_plugin(Warmup(warm_model, fingerprint, settings.warm_umap))
            client.register_plugin(scheduler_memory.BoundedHistory())
    except BaseException:
        cluster.close()
        raise
    return cluster


def stop_restarting_workers() -> None:
    """Tells each nanny its worker may go: killed workers are not started again."""
    if _cluster is not None:
        for nanny in list(_cluster.workers.values()):
            close_gracefully = getattr(nanny, "close_gracefully", None)
            if close_gracefully is not None:
                close_gracefully(reason="qk-atlas-stopping")


def stop_local_cluster(timeout: float | None = None) -> None:
    global _cluster, _starting
    if _cluster is None and _starting is not None:  # a signal interrupted its start
        starting, _starting = _starting, None
        try:
            _cluster = starting.result(timeout=timeout)
        except Exception:  # its workers were stopped under it, or it is still starting
            log.debug("the worker pool stopped while starting", exc_info=True)
            return
    if _cluster is not None:
        cluster, _cluster = _cluster, None
        cluster.close(timeout=timeout)


def client(address: str | None = None, timeout: str = "10s"):
    """A client of the pool; PoolUnavailable when its scheduler does not answer within
    `timeout` (a client that loses it later gives up after the same time)."""
    from distributed import Client

    address = address or os.environ.get(ADDRESS_ENV)
    if not address:
        raise RuntimeError(f"no worker pool: set {ADDRESS_ENV} or start the app with `make run`")
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise PoolUnavailable(POOL_DOWN) from exc


@dataclass
class Progress:
    """What the browser sees of a running job (JSON-able, small).

    total and done count the requested method's maps only; a t-SNE/UMAP job's PCA stand-ins
    are counted apart (stand_ins), and so are the maps measured when a job waits for their
    metrics (measured: the CLI). eta_s: seconds left, from the rate of the heads this job
    computed (None until one is done; cached heads do not make it look faster)."""

    key: str
    total: int
    method: str = "PCA"
    phase: str = "queued"
    done: int = 0
    stand_ins: int = 0
    measured: int = 0
    eta_s: float | None = None
    ready: dict[str, list[int]] = field(
        default_factory=lambda: {"pca": [], "final": [], "metrics": []}
    )
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "total": self.total,
            "method": self.method,
            "phase": self.phase,
            "done": self.done,
            "stand_ins": self.stand_ins,
            "measured": self.measured,
            "eta_s": self.eta_s,
            "ready": {slot: list(done) for slot, done in self.ready.items()},  # a snapshot
            "message": self.message,
        }

    def add(self, slot: str, index: int) -> None:
        self.ready[slot].append(index)
        if slot == "final":
            self.done += 1
        elif slot == "metrics":
            self.measured += 1
        else:
            self.stand_ins += 1


class Rate:
    """Seconds left for the requested maps, from the pace of the ones computed so far. The
    clock starts when the first of them can start: after the PCA stand-ins (which run first)."""

    def __init__(self, to_compute: int) -> None:
        self.left = to_compute
        self.computed = 0
        self.start: float | None = None

    def begin(self) -> None:
        if self.start is None:
            self.start = time.monotonic()

    def finished(self) -> float | None:
        """One requested map computed; returns the estimate of the seconds left."""
        self.begin()
        self.computed += 1
        self.left -= 1
        elapsed = time.monotonic() - (self.start or 0.0)
        return round(elapsed / self.computed * self.left, 1)


def phases_of(params: MapParams) -> list[MapParams]:
    """The maps a request's job computes, in order: PCA first (it fills the matrix at once),
    then the requested method."""
    return [params.as_pca()] if params.method == "pca" else [params.as_pca(), params]


def slot_of(phase: MapParams, params: MapParams) -> str:
    """Where a phase's maps count in the progress: the requested maps, or PCA stand-ins."""
    return "final" if phase == params else "pca"


def cached_progress(subject: Subject, params: MapParams) -> Progress | None:
    """The finished progress of a request whose maps and their metrics are all in the cache,
    as its job would end; None when there is anything left to compute. Most page loads ask for
    a cached matrix: they need no job (a process forked from the web worker, with a client of
    its own: under load their number drifted upwards and took the web tier's cores)."""
    store = Store(subject.cache_dir)
    phases = phases_of(params)
    needed = [subject.tokens_key]
    for layer, head in subject.heads():
        needed += [subject.coords_key(layer, head, phase) for phase in phases]
        needed.append(subject.metrics_key(layer, head, params))
    if not all(store.has(key) for key in needed):
        return None
    progress = Progress(
        subject.matrix_key(params), total=len(subject.heads()), method=METHODS[params.method]
    )
    for phase in phases:
        slot = slot_of(phase, params)
        for index in range(len(subject.heads())):
            progress.add(slot, index)
    progress.phase = "done"
    return progress


def run_matrix(
    pool: Any,
    subject: Subject,
    corpus: Corpus,
    params: MapParams,
    report: Callable[[Progress], None],
    *,
    wait_for_metrics: bool = False,
) -> Progress:
    """Extraction, then PCA of every head (fast, fills the matrix), then the slower method.
    The maps' metrics follow on the workers after the job (measure_later), or within it when
    `wait_for_metrics` (the CLI's precompute fills the cache whole before its pool stops)."""
    from distributed import as_completed

    from dashboard import worker_tasks

    store = Store(subject.cache_dir)
    heads = subject.heads()
    phases = phases_of(params)
    progress = Progress(subject.matrix_key(params), total=len(heads), method=METHODS[params.method])
    first_use = (
        subject.model.converter and not (Path(subject.model.path) / "model.safetensors").exists()
    )
    progress.phase = (
        f"converting {subject.model.name} for its first use (once, about a minute), then extracting"
        if first_use
        else "extracting queries and keys"
    )
    report(progress)
    pool.submit(
        worker_tasks.extract_task,
        subject,
        corpus,
        key=task_key(subject, f"extract-{subject.tokens_key}"),
        priority=100,
    ).result()

    futures = {}
    for rank, phase_params in enumerate(phases):
        slot = slot_of(phase_params, params)
        for index, (layer, head) in enumerate(heads):
            key = subject.coords_key(layer, head, phase_params)
            if store.has(key):
                progress.add(slot, index)
                continue
            future = pool.submit(
                worker_tasks.project_task,
                subject,
                layer,
                head,
                phase_params,
                key=task_key(subject, key),
                priority=50 - 40 * rank,
            )
            futures[future] = (slot, index, key)
    stand_ins_left = sum(slot == "pca" for slot, _, _ in futures.values())
    rate = Rate(len(futures) - stand_ins_left)
    if not stand_ins_left:
        rate.begin()
    progress.phase = (
        f"projecting {len(heads)} heads with PCA first, then {progress.method}"
        if stand_ins_left
        else f"projecting {len(heads)} heads with {progress.method}"
    )
    report(progress)
    for future in as_completed(futures, loop=pool.loop):
        slot, index, key = futures[future]
        stored_as_asked(key, future.result())
        progress.add(slot, index)
        if slot == "final":
            progress.eta_s = rate.finished()
        else:
            stand_ins_left -= 1
            if not stand_ins_left:
                rate.begin()
                progress.phase = f"projecting {len(heads)} heads with {progress.method}"
        report(progress)
    progress.eta_s = None
    if wait_for_metrics:
        _measure(pool, subject, params, progress, report)
    else:
        measure_later(pool, subject, params)
    progress.phase = "done"
    report(progress)
    return progress


def _unmeasured(subject: Subject, params: MapParams) -> list[tuple[int, int, int, str]]:
    """(head index, layer, head, metrics key) of each map whose metrics are not stored yet."""
    store = Store(subject.cache_dir)
    return [
        (index, layer, head, key)
        for index, (layer, head) in enumerate(subject.heads())
        if not store.has(key := subject.metrics_key(layer, head, params))
    ]


def _metrics_futures(pool: Any, subject: Subject, params: MapParams) -> dict[Any, int]:
    """Head metrics and map fidelity of each map not measured yet, at the lowest priority (a new
    request's maps go first): future → head index."""
    from dashboard import worker_tasks

    futures = {}
    for index, layer, head, key in _unmeasured(subject, params):
        future = pool.submit(
            worker_tasks.metrics_task,
            subject,
            layer,
            head,
            params,
            key=task_key(subject, key),
            priority=-50,
        )
        futures[future] = index
    return futures


def measure_later(pool: Any, subject: Subject, params: MapParams) -> None:
    """The maps' metrics left to the workers (fire and forget): the job ends once its maps are
    drawn (what a user waits for), and the numbers land in the cache beside them, where the
    views look for them (views/measure.py).

    A worker sends them, from its own client, which lives as long as the worker: the job's
    client closes right after this, and a metrics task already computed when it was submitted
    (another session's) was reported to that closing client by the scheduler — a CRITICAL
    'Closed comm' traceback in the server log, seen under the test suite. The launcher's own
    key is new, so nothing is reported for it. No launcher when every map is measured: one
    that ends at once could end before its fire-and-forget reaches the scheduler (see
    launch_metrics)."""
    from distributed import fire_and_forget

    if not _unmeasured(subject, params):
        return
    launcher = pool.submit(launch_metrics, subject, params, pure=False, priority=100)
    fire_and_forget(launcher)
    launcher.release()


def launch_metrics(subject: Subject, params: MapParams) -> int:
    """On a worker: the metrics of every map not measured yet, waited for here, the worker's
    thread left to its other tasks meanwhile (worker_client secedes); returns how many.

    Not fire and forget: the scheduler lets a fire-and-forget task go as it finishes, and keeps
    one that finished before the fire-and-forget reached it in memory for good — the first
    heads' metrics, computed while the others were still being submitted (one task in ~25
    matrices, and with it its task group and span: bench/cancel_memory.py)."""
    from distributed import wait, worker_client

    with worker_client() as client:
        futures = list(_metrics_futures(client, subject, params))
        wait(futures)
    return len(futures)


def _measure(
    pool: Any,
    subject: Subject,
    params: MapParams,
    progress: Progress,
    report: Callable[[Progress], None],
) -> None:
    """Head metrics and map fidelity of every map, waited for and counted in the progress."""
    from distributed import as_completed

    futures = _metrics_futures(pool, subject, params)
    measured = set(range(len(subject.heads()))) - set(futures.values())
    for index in sorted(measured):
        progress.add("metrics", index)
    if not futures:
        return
    progress.phase = f"measuring how faithful the {len(futures)} maps are"
    report(progress)
    heads = subject.heads()
    for future in as_completed(futures, loop=pool.loop):
        index = futures[future]
        stored_as_asked(subject.metrics_key(*heads[index], params), future.result())
        progress.add("metrics", index)
        report(progress)


def stored_as_asked(asked: str, stored: str) -> None:
    """A job is done when its maps are stored where this app reads them. A worker running
    another version of the code computes the map but names it with its own key (the options
    and defaults it knows), which this app never finds: the job would say "done" with its maps
    missing (seen when a pool was started from another checkout than the web tier's)."""
    if stored != asked:
        log.error(
            "a worker stored %s where this app reads %s: another version of the code", stored, asked
        )
        raise PoolMismatch(OTHER_VERSION)


def task_key(subject: Subject, key: str) -> str:
    """The cache key plus the cache directory's digest: app instances sharing one scheduler with
    different caches never hand each other results stored where the other cannot read them."""
    return f"{key}-{hashlib.sha256(subject.cache_dir.encode()).hexdigest()[:8]}"
