"""7. Cancel and memory (issue 12): a cancelled matrix frees its workers; the web process's memory
stays flat across many matrices.

Cancel: a fresh LocalCluster as the app starts it (`start_local_cluster`, the default model to
warm), made warm first — the default matrix's extraction, PCA maps and their metrics computed,
numba compiled and each projection library imported on every worker. Then, per method and
repetition, the matrix job runs as the app runs it: `progress.run_request` in a process forked
from this one (the scheduler's process, as with `python app.py`). Once every worker is fitting one
of its heads, and a delay later (varied per repetition, so the Cancel lands in different phases of
a fit), the job process is killed with SIGKILL — what Dash's Cancel does. Workers free = a tiny
task pinned to each worker has run; its own clock (CLOCK_MONOTONIC, shared by the machine's
processes) says when, so the time is kill → the last worker's tiny task, without polling lag.

Memory: a fresh Python process (`python -m bench.cancel_memory --memory OUT`) is the web tier of
`python app.py`: `create_app` on a fresh cache directory starts the LocalCluster in it (the
scheduler lives there), and the callbacks' functions are called one after the other as a user's
clicks would — `views/data.add_corpus` of a new pasted corpus, `resolve_request` (PCA), the job
(`progress.run_request`, in this process: a superset of the app, whose job processes are forks
that end, or Celery workers that live on), then `views/matrix.render` and the gzip the server
sends (`compression.compressed` of the figure's plotly JSON). Every request is a different corpus.
The resident set size (RSS, /proc/self/statm) is read, after `gc.collect()` and once the pool has
no task left (the maps' metrics follow each job), after every tenth request.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.timing import load_average, log, median

CANCEL_FLOOR_S = 2.0  # issue 12: a cancelled matrix frees its workers within 2 s
# RSS growth from the end of the warm-up to the last request. Every in-memory cache of the web
# process is a bounded LRU (dashboard/lru.py, ≤ 8 matrices/figures/gzips/token tables), full
# after the warm-up's 10 different corpora: after it, requests only replace entries. 20 MB is
# far below what keeping one figure per request would add over the 90 measured requests (the
# table gives a figure's size), and above the allocator's noise.
MEMORY_GROWTH_FLOOR_MB = 20.0
OPTIONS = ["translate", "scale"]
DELAYS_S = (0.3, 1.0, 2.0, 3.0, 4.0)  # after every worker fits, before the Cancel
HOPELESS = 10  # a method whose first two Cancels each take 10 × the floor is not repeated further
CASES = (
    ("tsne", 2, "t-SNE 2D (openTSNE)"),
    ("umap", 2, "UMAP 2D"),
    ("tsne", 3, "t-SNE 3D (sklearn)"),
)
MIB = 1024 * 1024


@dataclass
class CancelRep:
    delay_s: float  # every worker fitting → the kill
    free_s: float | None  # kill → every worker ran a new task (None: not within the timeout)
    per_worker_s: list[float]
    fitting: int  # heads being fitted at the kill
    stored_anyway: int  # of those, stored afterwards: finished rather than stopped


@dataclass
class CancelRun:
    label: str
    method: str
    dims: int
    n_points: int
    reps: list[CancelRep] = field(default_factory=list)
    given_up: bool = False  # stopped repeating: its first Cancels took far longer than the floor
    load_before: str = ""
    load_after: str = ""

    def times(self) -> list[float]:
        return [r.free_s if r.free_s is not None else float("inf") for r in self.reps]

    @property
    def median_s(self) -> float | None:
        return median(self.times()) if self.reps else None

    @property
    def max_s(self) -> float | None:
        return max(self.times()) if self.reps else None


@dataclass
class MemoryRun:
    samples: list[tuple[int, float]]  # (requests done, RSS MiB), 0 = before the first
    warmup: int
    n_requests: int
    sentences: int  # per corpus
    points: list[int]  # points drawn per head (cell) of each corpus's matrix
    figure_bytes: list[int]  # each matrix's plotly JSON (what Dash sends, before gzip)
    cache_sizes: dict[str, str]  # each in-memory cache: entries / bound, at the end
    seconds: float
    load_before: str = ""
    load_after: str = ""

    def rss_at(self, requests: int) -> float | None:
        return next((rss for done, rss in self.samples if done == requests), None)

    @property
    def growth_mb(self) -> float | None:
        """RSS at the last request − at the end of the warm-up (MiB)."""
        start, end = self.rss_at(self.warmup), self.rss_at(self.n_requests)
        return None if start is None or end is None else end - start


@dataclass
class CancelMemoryResult:
    cancels: list[CancelRun] = field(default_factory=list)
    memory: MemoryRun | None = None
    memory_error: str = ""


# ---------------------------------------------------------------- cancel


def _job(settings: Any, request: dict) -> None:
    from dashboard import catalog
    from dashboard.views import progress

    catalog.configure(settings)
    progress.run_request(request, lambda p: None)


def _running(pool: Any) -> dict[str, list[str]]:
    return pool.run(lambda dask_worker: [str(t.key) for t in dask_worker.state.executing])


def _wait_idle(pool: Any, timeout_s: float) -> bool:
    """True once no worker executes a task (checked every 0.2 s)."""
    deadline = time.monotonic() + timeout_s
    while any(_running(pool).values()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def free_times(pool: Any, killed_at: float, timeout_s: float) -> list[float] | None:
    """Per worker: seconds from `killed_at` until a tiny task pinned to it ran (its own monotonic
    clock); None when one has not run within `timeout_s`."""
    workers = list(pool.scheduler_info()["workers"])
    futures = [
        pool.submit(time.monotonic, workers=[w], allow_other_workers=False, pure=False)
        for w in workers
    ]
    deadline = time.monotonic() + timeout_s
    while not all(f.done() for f in futures):
        if time.monotonic() > deadline:
            for f in futures:
                f.cancel()
            return None
        time.sleep(0.01)
    return [f.result() - killed_at for f in futures]


def cancel_once(pool: Any, svc: Any, request: dict, delay_s: float, timeout_s: float) -> CancelRep:
    from dashboard import dask_pool
    from dashboard.cache_keys import MapParams

    subject, _ = svc.subject(request["model"], request["corpus"])
    params = MapParams.from_dict(request["params"])
    keys = {
        dask_pool.task_key(subject, subject.coords_key(layer, head, params)): (layer, head)
        for layer, head in subject.heads()
    }
    child = multiprocessing.get_context("fork").Process(target=_job, args=(svc.settings, request))
    child.start()
    deadline = time.monotonic() + timeout_s
    while not all(set(ks) & keys.keys() for ks in _running(pool).values()):
        if not child.is_alive() or time.monotonic() > deadline:
            child.kill()
            raise RuntimeError(f"{request['title']}: the workers never all fitted a head")
        time.sleep(0.05)
    time.sleep(delay_s)
    fitting = set().union(*_running(pool).values()) & keys.keys()
    killed_at = time.monotonic()
    os.kill(child.pid, signal.SIGKILL)  # what Dash's Cancel does to the job process
    times = free_times(pool, killed_at, timeout_s)
    child.join()
    if times is None:  # a fit that does not stop: wait it out before the next repetition
        _wait_idle(pool, 900)
    stored = sum(svc.store.has(subject.coords_key(*keys[k], params)) for k in fitting)
    return CancelRep(delay_s, max(times) if times else None, times or [], len(fitting), stored)


def _warm_task(dims: tuple[int, ...]) -> None:
    """Imports and first-call costs of every projection library, on a tiny set."""
    import numpy as np

    from dashboard import worker_tasks
    from dashboard.projection.methods import Projector

    worker_tasks.warm_numba()
    x = np.random.default_rng(0).normal(size=(200, 8))
    for method, n in (("tsne", 2), ("umap", 2), ("tsne", 3)):
        if n in dims:
            Projector(method, n).fit_transform(x)


def warm_pool(pool: Any, svc: Any) -> int:
    """The default matrix's extraction, PCA maps and metrics; the libraries warm on each worker.
    Returns the map points per head."""
    from dashboard import dask_pool
    from dashboard.cache_keys import MapParams
    from dashboard.models.corpora import DEFAULT_CORPUS
    from dashboard.models.registry import DEFAULT_MODEL

    subject, corpus = svc.subject(DEFAULT_MODEL, DEFAULT_CORPUS)
    params = MapParams(seed=svc.settings.seed)
    dask_pool.run_matrix(pool, subject, corpus, params, lambda p: None, wait_for_metrics=True)
    workers = list(pool.scheduler_info()["workers"])
    warm = [
        pool.submit(_warm_task, (2, 3), workers=[w], allow_other_workers=False, pure=False)
        for w in workers
    ]
    pool.gather(warm)
    return 2 * int((svc.store.load_meta(subject.tokens_key) or {}).get("n_tokens", 0))


def measure_cancels(root: Path, repeats: int = 5, timeout_s: float = 300.0) -> list[CancelRun]:
    from bench.matrix import local_pool
    from dashboard import catalog
    from dashboard.config import Settings
    from dashboard.models.corpora import DEFAULT_CORPUS
    from dashboard.models.registry import DEFAULT_MODEL
    from dashboard.views.request import resolve_request

    # numba is compiled by _warm_task, deterministically, not by the plugin's idle-time thread
    settings = Settings(cache_dir=root / "cancel", warm_umap=False, prewarm=False)
    svc = catalog.configure(settings)
    runs = []
    with local_pool(settings, svc.registry.get(DEFAULT_MODEL)) as (pool, _):
        log("cancel: warming the pool (default matrix: extraction, PCA, metrics; libraries)")
        n_points = warm_pool(pool, svc)
        for method, dims, label in CASES:
            request = resolve_request(DEFAULT_MODEL, DEFAULT_CORPUS, method, dims, OPTIONS)
            run = CancelRun(label, method, dims, n_points, load_before=load_average())
            for i in range(repeats):
                delay = DELAYS_S[i % len(DELAYS_S)]
                rep = cancel_once(pool, svc, request, delay, timeout_s)
                run.reps.append(rep)
                log(
                    f"cancel {label} #{i + 1}: delay {delay:.1f} s, workers free after "
                    f"{rep.free_s if rep.free_s is not None else float('inf'):.2f} s "
                    f"({rep.fitting} fitting, {rep.stored_anyway} stored anyway)"
                )
                slow = [t for t in run.times() if t > HOPELESS * CANCEL_FLOOR_S]
                if len(run.reps) == 2 and len(slow) == 2 and repeats > 2:
                    run.given_up = True
                    break
                _wait_idle(pool, timeout_s)
            run.load_after = load_average()
            runs.append(run)
    return runs


# ---------------------------------------------------------------- memory


WORDS = (
    "river",
    "mountain",
    "engine",
    "violin",
    "harbor",
    "lantern",
    "meadow",
    "circuit",
    "glacier",
    "orchard",
    "pepper",
    "comet",
    "falcon",
    "marble",
    "thunder",
    "velvet",
    "canyon",
    "saddle",
    "beacon",
    "ember",
    "quartz",
    "willow",
    "tide",
    "prism",
    "anchor",
    "compass",
    "ferry",
    "summit",
    "lichen",
    "raven",
    "copper",
    "harvest",
    "blossom",
    "cinder",
    "dune",
    "emerald",
    "furnace",
    "grove",
)
VERBS = (
    "crosses",
    "follows",
    "lifts",
    "paints",
    "hides",
    "builds",
    "carries",
    "watches",
    "greets",
    "measures",
)


def corpus_text(index: int, sentences: int = 20) -> str:
    """A pasted corpus of `sentences` lines, different for every index (and the same each run)."""
    rng = random.Random(index)
    lines = []
    for i in range(sentences):
        a, b, c = rng.sample(WORDS, 3)
        lines.append(
            f"In note {index}.{i} the {a} {rng.choice(VERBS)} a {b} near the {c} "
            f"while {rng.randint(2, 99)} {rng.choice(WORDS)}s wait."
        )
    return "\n".join(lines)


def rss_mib() -> float:
    """This process's resident set size (MiB), after a full garbage collection."""
    gc.collect()
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / MIB


def cache_sizes() -> dict[str, str]:
    """entries / bound of every in-memory cache of the web process."""
    from dashboard import compression, lru
    from dashboard.catalog import current
    from dashboard.views import matrix, sentence

    svc = current()
    named: dict[str, lru.LockedLRU] = {
        "catalog token tables": svc._tables,
        "catalog layers' Q/K": svc._layers,
        "catalog hover": svc._hover,
        "catalog sentence texts": svc._texts,
        "matrix figures (_FIGURES)": matrix._FIGURES,
        "search spreads (_SPREADS)": matrix._SPREADS,
        "gzipped bodies (compression._RECENT)": compression._RECENT,
        "sentence weights": sentence._WEIGHTS,
    }
    return {name: f"{len(c)} / {c.size}" for name, c in named.items()}


def _pool_drained(timeout_s: float) -> None:
    """Waits until the scheduler (in this process) holds no task: each job's metrics follow it."""
    from dashboard import dask_pool

    scheduler = dask_pool._cluster.scheduler
    deadline = time.monotonic() + timeout_s
    while scheduler.tasks and time.monotonic() < deadline:
        time.sleep(0.2)


def web_tier_memory(
    cache_dir: Path, n_requests: int = 100, warmup: int = 10, every: int = 10, sentences: int = 20
) -> MemoryRun:
    """Runs in a process of its own (see the module's docstring)."""
    from plotly.io.json import to_json_plotly

    from dashboard import compression
    from dashboard.config import Settings
    from dashboard.factory import create_app
    from dashboard.models.registry import DEFAULT_MODEL
    from dashboard.views import matrix, progress
    from dashboard.views.data import add_corpus
    from dashboard.views.request import resolve_request

    load_before, started = load_average(), time.perf_counter()
    create_app(Settings(cache_dir=cache_dir, warm_umap=False, prewarm=False))
    samples = [(0, rss_mib())]
    known: list[dict] = []
    points, figure_bytes = [], []
    for i in range(1, n_requests + 1):
        known, corpus_id, _ = add_corpus(corpus_text(i, sentences), known)
        request = resolve_request(DEFAULT_MODEL, corpus_id, "pca", 2, OPTIONS)
        if request.get("error"):
            raise RuntimeError(request["error"])
        ended = progress.run_request(request, lambda p: None)
        if ended["status"] != "done":
            raise RuntimeError(f"request {i}: {ended}")
        figure, shown = matrix.render(request, "role", None, False)
        body = to_json_plotly(figure).encode()
        compression.compressed(body)
        matrix.render(request, "role", shown, True)  # a later report: nothing new to patch
        points.append(int(shown["n_points"]))
        figure_bytes.append(len(body))
        if i in (warmup, n_requests) or i % every == 0:
            _pool_drained(120)
            samples.append((i, rss_mib()))
            log(f"memory: {i} requests, RSS {samples[-1][1]:.1f} MiB")
    return MemoryRun(
        samples=samples,
        warmup=warmup,
        n_requests=n_requests,
        sentences=sentences,
        points=points,
        figure_bytes=figure_bytes,
        cache_sizes=cache_sizes(),
        seconds=time.perf_counter() - started,
        load_before=load_before,
        load_after=load_average(),
    )


def measure_memory(root: Path, n_requests: int = 100) -> MemoryRun:
    """web_tier_memory in a fresh interpreter (this one has run other sections)."""
    out = root / "memory.json"
    command = [sys.executable, "-m", "bench.cancel_memory", "--memory", str(out)]
    command += ["--cache-dir", str(root / "memory-cache"), "--requests", str(n_requests)]
    subprocess.run(command, check=True, cwd=Path(__file__).resolve().parent.parent)
    data = json.loads(out.read_text())
    data["samples"] = [tuple(s) for s in data["samples"]]
    return MemoryRun(**data)


def measure_cancel_memory(
    root: Path, repeats: int = 5, n_requests: int = 100
) -> CancelMemoryResult:
    root.mkdir(parents=True, exist_ok=True)
    result = CancelMemoryResult()
    result.cancels = measure_cancels(root, repeats)
    try:
        result.memory = measure_memory(root, n_requests)
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:
        result.memory_error = str(exc)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cancel_memory")
    parser.add_argument("--memory", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)
    from dashboard import dask_pool

    try:
        run = web_tier_memory(args.cache_dir, args.requests)
    finally:
        dask_pool.stop_local_cluster()
    args.memory.write_text(json.dumps(asdict(run)), encoding="utf-8")
    return 0


if __name__ == "__main__":  # the guard matters: Dask's spawned workers re-import this module
    sys.exit(main())
