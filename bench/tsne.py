"""6. t-SNE: where a worker's fit loses time against the bare library, and today's settings
against the previous ones (time and trustworthiness@10 on the same heads).

Placement: the same head's `Projector("tsne").fit_transform` (a) in this process alone, (b) in
two processes of this machine at once (no Dask), (c) in one Dask worker while the other idles,
with Dask's own worker environment (MALLOC_TRIM_THRESHOLD_=65536) and with the app's
(dask_pool.worker_environ), (d) in both of the app's Dask workers at once. (a)→(b) is what
sharing the 2 cores costs any process, (b)→(d) what Dask adds; the pipeline runs as (d).

Settings: PREVIOUS (the defaults before issue 12) and the current DEFAULTS, fitted in this
process on the same sample heads: seconds per head and trustworthiness@10 (cosine, the metric
the map is fitted with) of each.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.timing import load_average, log

# the t-SNE defaults before issue 12 (dashboard/projection/methods.DEFAULTS then)
PREVIOUS = {"perplexity": 30.0, "n_iter": 300, "early_exaggeration_iter": 125}
SAMPLE_HEADS = ((0, 0), (2, 7), (5, 11))  # an early, a middle and a last-layer head
TRUST_NEIGHBOURS = 10


@dataclass
class Placement:
    label: str
    seconds: list[float]  # one fit per process taking part
    faults: list[int] = field(default_factory=list)  # minor page faults of each fit: no noise


@dataclass
class SettingsRun:
    label: str
    params: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)  # "L0 H0" → fit time
    trust: dict[str, float] = field(default_factory=dict)  # "L0 H0" → trustworthiness@10


@dataclass
class TsneResult:
    n_points: int
    placements: list[Placement] = field(default_factory=list)
    settings: list[SettingsRun] = field(default_factory=list)
    identical: bool | None = None  # the worker's map equals this process's, bit for bit
    load_before: str = ""
    load_after: str = ""

    def placement(self, label: str) -> float | None:
        found = next((p for p in self.placements if p.label == label), None)
        return float(np.mean(found.seconds)) if found else None

    def worst_trust_drop(self) -> float | None:
        if len(self.settings) < 2:
            return None
        before, now = self.settings[0].trust, self.settings[-1].trust
        return max(before[h] - now[h] for h in before)

    def speedup(self) -> float | None:
        if len(self.settings) < 2:
            return None
        before, now = self.settings[0].seconds, self.settings[-1].seconds
        return sum(before.values()) / max(sum(now.values()), 1e-9)


def _fit(points: np.ndarray, params: dict[str, Any] | None = None) -> tuple[float, np.ndarray]:
    return _fit_faults(points, params)[:2]


def _fit_faults(
    points: np.ndarray, params: dict[str, Any] | None = None
) -> tuple[float, np.ndarray, int]:
    """(seconds, map, minor page faults of the process meanwhile)."""
    import resource

    from dashboard.projection.methods import Projector

    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started = time.perf_counter()
    coords = Projector("tsne", 2, 0, dict(params or {})).fit_transform(points)
    seconds = time.perf_counter() - started
    return seconds, coords, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def _fit_copy(points: np.ndarray) -> tuple[float, np.ndarray, int]:
    return _fit_faults(np.array(points, copy=True))


def _fit_seconds(points: np.ndarray, queue: Any) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # as a Dask worker (its nanny sets OMP_NUM_THREADS=1)
        _fit(points[:500])  # imports
        seconds, _, faults = _fit_faults(points)
        queue.put((seconds, faults))


def _in_processes(points: np.ndarray, n: int) -> Placement:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_fit_seconds, args=(points, queue)) for _ in range(n)]
    for process in processes:
        process.start()
    fits = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    return Placement("two processes at once", [s for s, _ in fits], [f for _, f in fits])


@contextmanager
def _workers(environ: dict[str, Any], n: int) -> Iterator[tuple[Any, list[str]]]:
    import dask
    from distributed import Client, LocalCluster

    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(n)
        workers = list(client.scheduler_info()["workers"])
        for worker in workers:  # imports
            warm = np.random.default_rng(0).normal(size=(500, 4))  # constant points crash it
            client.submit(_fit, warm, workers=[worker], pure=False).result()
        yield client, workers


def measure_placement(points: np.ndarray, result: TsneResult) -> None:
    import dask
    import distributed  # noqa: F401  (its import adds its defaults to dask.config)
    from threadpoolctl import threadpool_limits

    from dashboard.dask_pool import worker_environ

    with threadpool_limits(1):
        _fit(points[:500])  # imports
        seconds, reference, faults = _fit_faults(points)
    result.placements.append(Placement("this process alone (1 BLAS thread)", [seconds], [faults]))
    log(f"t-SNE alone: {seconds:.1f} s")
    result.placements.append(_in_processes(points, 2))
    log(f"t-SNE two processes: {result.placements[-1].seconds}")
    dask_default = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    with _workers(dask_default, 1) as (client, workers):
        seconds, _, faults = client.submit(_fit_copy, points, pure=False).result()
    result.placements.append(Placement("one Dask worker, Dask's environment", [seconds], [faults]))
    with _workers(worker_environ(), 2) as (client, workers):
        # the points as a worker makes them (from the store), not scattered: a deserialised
        # array's alignment can change the last bits of numpy's SIMD sums
        seconds, coords, faults = client.submit(_fit_copy, points, workers=[workers[0]]).result()
        result.identical = bool(np.array_equal(coords, reference))
        result.placements.append(
            Placement("one Dask worker, the app's environment", [seconds], [faults])
        )
        futures = [client.submit(_fit_copy, points, workers=[w], pure=False) for w in workers]
        fits = [f.result() for f in futures]
        result.placements.append(
            Placement(
                "both Dask workers at once, the app's",
                [s for s, _, _ in fits],
                [f for _, _, f in fits],
            )
        )
    log(f"t-SNE Dask: {[p.seconds for p in result.placements[-3:]]}")


def measure_settings(heads: dict[str, np.ndarray], result: TsneResult) -> None:
    from sklearn.manifold import trustworthiness
    from threadpoolctl import threadpool_limits

    from dashboard.projection.methods import DEFAULTS

    for run in (SettingsRun("previous", PREVIOUS), SettingsRun("current", DEFAULTS["tsne"])):
        for name, points in heads.items():
            with threadpool_limits(1):
                seconds, coords = _fit(points, run.params)
            run.seconds[name] = seconds
            run.trust[name] = float(
                trustworthiness(points, coords, n_neighbors=TRUST_NEIGHBOURS, metric="cosine")
            )
            log(f"t-SNE {run.label} {name}: {seconds:.1f} s, T@10 {run.trust[name]:.4f}")
        result.settings.append(run)


def measure_tsne(subject: Any, cache_dir: Path, placement: bool = True) -> TsneResult:
    from bench.bare import head_points

    heads = {f"L{layer} H{head}": head_points(subject, cache_dir, layer, head)
             for layer, head in SAMPLE_HEADS}  # fmt: skip
    first = next(iter(heads.values()))
    result = TsneResult(len(first), load_before=load_average())
    if placement:
        measure_placement(first, result)
    measure_settings(heads, result)
    result.load_after = load_average()
    return result
