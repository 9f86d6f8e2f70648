"""2. Time to a full head matrix through the real pipeline: LocalCluster → run_matrix → store.

Each run gets a fresh cache directory. A "cold" run also starts a fresh LocalCluster right
before the request, exactly as the app does at start-up (the workers load the model, and warm
numba when asked, in a background thread while they already take tasks).

A run may have a time budget: when it runs out, the report callback raises, run_matrix returns
early, the queued heads are cancelled (the ones already running finish) and the 72-head time is
extrapolated from the heads finished so far. Such runs are labelled in the results.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.timing import load_average, log
from dashboard import dask_pool
from dashboard.cache_keys import MapParams, Subject, make_subject
from dashboard.config import Settings
from dashboard.dask_pool import Progress
from dashboard.models.corpora import Corpus, default_corpus
from dashboard.models.registry import DEFAULT_MODEL, ModelSpec, discover, fingerprint
from dashboard.store import Store


class BudgetExceeded(Exception):
    """Raised from the report callback to end a request that ran out of time."""


@dataclass
class MatrixRun:
    label: str
    method: str
    heads: str  # which heads, in which order (see HEAD_ORDERS)
    n_heads: int  # heads requested in this run
    total_heads: int  # heads in the model
    completed: int  # heads of the requested method finished in the timed window
    stopped: bool  # the time budget ran out before every requested head was done
    n_workers: int
    n_points: int  # points per head (queries + keys)
    cluster_start_s: float | None  # None: the pool was reused (already warm)
    projecting_s: float  # request → extraction done and every projection submitted
    first_visible_s: float | None  # request → first head on screen (a PCA stand-in counts)
    first_final_s: float | None  # request → first head of the requested method
    done_s: float  # request → all requested heads stored (or → the budget stop)
    extraction_s: float | None  # worker-side extraction time (from the tokens sidecar)
    fit_s: list[float] = field(default_factory=list)  # worker-side fit per head, requested method
    first_head_fit_s: float | None = None  # worker-side fit of layer 0 head 0 (when requested)
    missing: int = 0  # requested heads not in the store afterwards (expected only when stopped)
    load_before: str = ""
    load_after: str = ""

    @property
    def extrapolated(self) -> bool:
        return self.completed < self.total_heads

    @property
    def phase_s(self) -> float:
        """Wall time of the projection phase (PCA stand-ins included: they take milliseconds)."""
        return self.done_s - self.projecting_s

    @property
    def per_head_pipeline_s(self) -> float:
        """Wall time a worker spends per head: phase ÷ heads × workers (workers run in parallel).

        After a budget stop the heads in flight count as not done: a slight overestimate.
        """
        return self.phase_s / max(self.completed, 1) * self.n_workers

    @property
    def full_done_s(self) -> float:
        """Request → all heads; when fewer were done, the projection phase scaled to every head."""
        return self.projecting_s + self.phase_s * self.total_heads / max(self.completed, 1)

    @property
    def full_from_start_s(self) -> float:
        return (self.cluster_start_s or 0.0) + self.full_done_s


class Recorder:
    """The report callback: notes when extraction ends and heads arrive; enforces the budget."""

    def __init__(self, budget_s: float | None = None) -> None:
        self.started = time.perf_counter()
        self.budget_s = budget_s
        self.projecting: float | None = None
        self.first_visible: float | None = None
        self.first_final: float | None = None
        self.final_done = 0
        self.stopped_at: float | None = None

    def __call__(self, progress: Progress) -> None:
        now = time.perf_counter() - self.started
        if self.projecting is None and progress.phase.startswith("projecting"):
            self.projecting = now
        if self.first_visible is None and progress.done + progress.stand_ins > 0:
            self.first_visible = now
        if self.first_final is None and progress.ready["final"]:
            self.first_final = now
        self.final_done = len(progress.ready["final"])
        unfinished = progress.done < progress.total
        if self.budget_s is not None and now > self.budget_s and unfinished:
            self.stopped_at = now
            raise BudgetExceeded(f"{progress.done} of {progress.total} maps after {now:.0f} s")


@dataclass(frozen=True)
class SampledJob(Subject):
    """The real job (same cache keys) whose matrix is the given heads, in the given order.

    run_matrix submits heads in subject.heads() order at one priority, and Dask runs them in that
    order: a layer-interleaved order makes a budget stop sample every layer evenly (layer 0 is
    atypical: its queries/keys hold duplicate points, e.g. [CLS] at position 0).
    """

    sample: tuple[tuple[int, int], ...] = ()

    def heads(self) -> list[tuple[int, int]]:
        return list(self.sample)


def first_layer(spec: ModelSpec) -> list[tuple[int, int]]:
    return [(0, head) for head in range(spec.n_heads)]


def interleaved(spec: ModelSpec) -> list[tuple[int, int]]:
    """Every head, head-major: L0 H0, L1 H0, …, L5 H0, L0 H1, …"""
    return [(layer, head) for head in range(spec.n_heads) for layer in range(spec.n_layers)]


def spread(spec: ModelSpec, per_layer: int = 2) -> list[tuple[int, int]]:
    """per_layer evenly spaced heads of every layer (L0 H0 first)."""
    step = max(spec.n_heads // per_layer, 1)
    return [
        (layer, head) for layer in range(spec.n_layers) for head in range(0, spec.n_heads, step)
    ]


HEAD_ORDERS = {"first_layer": first_layer, "interleaved": interleaved, "spread": spread}


def bench_subject(
    cache_dir: Path, settings: Settings, heads: str | None = None
) -> tuple[Subject, Corpus]:
    """The default model and corpus; `heads` names a HEAD_ORDERS selection (None: the app's own,
    every head layer by layer). Extraction always covers the whole model."""
    spec = discover(settings.model_dirs).get(DEFAULT_MODEL)
    corpus = default_corpus(settings.corpus_sentences, settings.corpus_tokens, settings.seed)
    subject = make_subject(
        spec, fingerprint(spec), corpus, str(cache_dir), settings.limits.max_tokens
    )
    if heads is not None:
        fields = {name: getattr(subject, name) for name in Subject.__dataclass_fields__}
        subject = SampledJob(**fields, sample=tuple(HEAD_ORDERS[heads](spec)))
    return subject, corpus


@contextmanager
def local_pool(settings: Settings, spec: ModelSpec) -> Iterator[tuple[Any, float]]:
    """(client, seconds the cluster took to start); the cluster is stopped on exit."""
    started = time.perf_counter()
    address = dask_pool.start_local_cluster(settings, spec, fingerprint(spec))
    start_s = time.perf_counter() - started
    client = dask_pool.client(address)
    try:
        yield client, start_s
    finally:
        client.close()
        dask_pool.stop_local_cluster()


def cancel_heads(pool: Any, subject: Subject, params: MapParams) -> None:
    """Drops the request's queued heads (task keys are the coordinates' cache keys)."""
    from distributed import Future

    keys = {
        subject.coords_key(layer, head, p)
        for layer, head in subject.heads()
        for p in (params, params.as_pca())
    }
    pool.cancel([Future(key, client=pool) for key in keys])


def _executing(dask_worker: Any) -> int:
    return dask_worker.state.executing_count


def wait_idle(pool: Any, timeout_s: float = 300.0) -> None:
    """After a budget stop, the heads already running finish in the workers: wait them out."""
    deadline = time.perf_counter() + timeout_s
    time.sleep(1.0)  # let the scheduler process the released futures first
    while time.perf_counter() < deadline and any(pool.run(_executing).values()):
        time.sleep(0.5)


def _stored(subject: Subject, params: MapParams) -> tuple[list[dict | None], dict]:
    store = Store(subject.cache_dir)
    metas = [
        store.load_meta(subject.coords_key(layer, head, params)) for layer, head in subject.heads()
    ]
    return metas, store.load_meta(subject.tokens_key) or {}


def request_matrix(
    pool: Any,
    subject: Subject,
    corpus: Corpus,
    params: MapParams,
    label: str,
    cluster_start_s: float | None,
    total_heads: int,
    budget_s: float | None = None,
    heads_label: str = "all, layer by layer",
) -> MatrixRun:
    """One run_matrix request, timed from the call; then what the workers recorded in the store."""
    load_before = load_average()
    recorder = Recorder(budget_s)
    try:
        dask_pool.run_matrix(pool, subject, corpus, params, recorder)
    except BudgetExceeded as exc:
        log(f"{label}: time budget of {budget_s:.0f} s used up ({exc}); stopping")
    done_s = recorder.stopped_at or time.perf_counter() - recorder.started
    if recorder.stopped_at is not None:
        cancel_heads(pool, subject, params)
        wait_idle(pool)
    metas, tokens = _stored(subject, params)
    by_head = dict(zip(subject.heads(), metas, strict=True))
    first = by_head.get((0, 0))
    run = MatrixRun(
        label=label,
        method=params.method,
        heads=heads_label,
        n_heads=len(metas),
        total_heads=total_heads,
        completed=recorder.final_done,
        stopped=recorder.stopped_at is not None,
        n_workers=len(pool.nthreads()),
        n_points=2 * int(tokens.get("n_tokens", 0)),
        cluster_start_s=cluster_start_s,
        projecting_s=recorder.projecting if recorder.projecting is not None else float("nan"),
        first_visible_s=recorder.first_visible,
        first_final_s=recorder.first_final,
        done_s=done_s,
        extraction_s=tokens.get("seconds"),
        fit_s=[float(m["seconds"]) for m in metas if m],
        first_head_fit_s=float(first["seconds"]) if first else None,
        missing=sum(m is None for m in metas),
        load_before=load_before,
        load_after=load_average(),
    )
    log(
        f"{label}: first head {run.first_visible_s or float('nan'):.1f} s, "
        f"{run.completed} of {run.n_heads} heads in {done_s:.1f} s"
    )
    return run


HEAD_LABELS = {
    None: "all, layer by layer (the app's order)",
    "first_layer": "layer 0 only",
    "interleaved": "all, layer-interleaved",
    "spread": "2 per layer",
}


def cold_matrix(
    method: str,
    cache_dir: Path,
    heads: str | None = None,
    warm_umap: bool = False,
    budget_s: float | None = None,
    warm_rerun_dir: Path | None = None,
    warm_rerun_heads: str | None = None,
) -> list[MatrixRun]:
    """A fresh cluster and cache, one request; optionally a second request on the now-warm pool."""
    settings = Settings(cache_dir=cache_dir, warm_umap=warm_umap)
    params = MapParams(method=method, seed=settings.seed)
    subject, corpus = bench_subject(cache_dir, settings, heads)
    total = subject.model.n_layers * subject.model.n_heads
    runs = []
    log(f"{method}: starting a fresh LocalCluster (warm_umap={warm_umap})")
    with local_pool(settings, subject.model) as (pool, start_s):
        runs.append(
            request_matrix(
                pool,
                subject,
                corpus,
                params,
                f"{method} cold",
                start_s,
                total,
                budget_s,
                HEAD_LABELS[heads],
            )
        )
        if warm_rerun_dir is not None:
            warm_subject, _ = bench_subject(warm_rerun_dir, settings, warm_rerun_heads)
            label = f"{method} warm pool"
            runs.append(
                request_matrix(
                    pool,
                    warm_subject,
                    corpus,
                    params,
                    label,
                    None,
                    total,
                    None,
                    HEAD_LABELS[warm_rerun_heads],
                )
            )
    return runs
