"""3. The projection libraries called directly, in this process, on one real head.

The points are exactly what a worker projects: layer 0 head 0's queries and keys from the
store, joined with key translation and norm scaling. Run while no cluster is up.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.timing import log, median, timed
from dashboard.cache_keys import Subject
from dashboard.projection.joint import joint_points
from dashboard.projection.methods import Projector
from dashboard.store import Store


@dataclass
class BareTiming:
    method: str
    n_points: int
    first_s: float  # the first call in this process: library import (and numba JIT for UMAP)
    steady_s: float  # median of the calls after it (= first_s when there were none)
    repeats: int  # calls after the first
    warnings: list[str]  # distinct warnings the library raised (first line of each)


def head_points(subject: Subject, cache_dir: Path, layer: int = 0, head: int = 0) -> np.ndarray:
    loaded = Store(cache_dir).load(subject.qk_key(layer))
    if loaded is None:
        raise RuntimeError("no queries/keys in the store: run the PCA matrix first")
    q, k = loaded[0]["q"], loaded[0]["k"]
    kv_head = head // (subject.model.n_heads // subject.model.n_kv_heads)
    return joint_points(q[head], k[kv_head], translate=True, scale=True)


def _relevant(caught: warnings.WarningMessage) -> bool:
    """umap-learn's import-time notice about TensorFlow says nothing about this fit."""
    return "ParametricUMAP" not in str(caught.message)


def time_method(method: str, points: np.ndarray, repeats: int, seed: int = 0) -> BareTiming:
    projector = Projector(method, 2, seed)  # the worker's estimator, same defaults and threads
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, first = timed(projector.fit_transform, points)
        later = [timed(projector.fit_transform, points)[1] for _ in range(repeats)]
    messages = sorted({" ".join(str(w.message).split()) for w in caught if _relevant(w)})
    log(f"bare {method}: first {first:.2f}s, later {[round(t, 2) for t in later]}")
    steady = median(later) if later else first
    return BareTiming(method, len(points), first, steady, repeats, messages)


def measure_bare(
    subject: Subject, cache_dir: Path, repeats: dict[str, int]
) -> dict[str, BareTiming]:
    points = head_points(subject, cache_dir)
    return {method: time_method(method, points, n) for method, n in repeats.items()}
