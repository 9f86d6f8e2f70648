"""Projection as an estimator: Projector(method, n_components, random_state, **params).

Seeds go to the library; the global RNG is never touched. Same inputs + seed ⇒ same map.
Libraries are imported on first use (UMAP pulls numba, whose JIT warm-up runs once per worker).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

import numpy as np

Method = Literal["pca", "tsne", "umap"]
METHODS: dict[str, str] = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
DEFAULTS: dict[str, dict[str, Any]] = {
    "pca": {},
    # fewer iterations than the libraries' defaults: measured 2–3× faster per head (bench/) with
    # maps whose neighbourhoods hold up (trustworthiness tests); both are in every cache key
    # neighbours: exact cosine k-NN computed here in blocks (faster than the libraries' own
    # approximate search at these sizes, and a Cancel is seen between blocks)
    "tsne": {
        "perplexity": 30.0,
        "n_iter": 300,
        "early_exaggeration_iter": 125,
        "neighbors": "exact",
    },
    "umap": {"n_neighbors": 15, "min_dist": 0.1, "n_epochs": 200, "neighbors": "exact"},
}
_LIBRARY = {"pca": "scikit-learn", "tsne": "openTSNE", "umap": "umap-learn"}


class Cancelled(Exception):
    """Raised inside a projection when the caller asked it to stop."""


def library_version(method: str) -> str:
    """Goes into cache keys: a new library version may give a different map."""
    names = [_LIBRARY[method]] + (["scikit-learn"] if method == "tsne" else [])
    try:
        return ",".join(f"{n}={version(n)}" for n in names)
    except PackageNotFoundError:
        return "missing"


@dataclass
class Projector:
    method: Method
    n_components: int = 2
    random_state: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}: choose one of {', '.join(METHODS)}")
        if self.n_components not in (2, 3):
            raise ValueError("n_components must be 2 or 3")
        self.params = {**DEFAULTS[self.method], **self.params}

    def fit_transform(
        self, x: np.ndarray, should_stop: Callable[[], bool] | None = None
    ) -> np.ndarray:
        """[points, d] → [points, n_components] float32."""
        if len(x) < 4:
            raise ValueError("too few points to project (need at least 4)")
        fit = getattr(self, f"_{self.method}")
        return np.ascontiguousarray(
            fit(np.asarray(x, dtype=np.float64), should_stop), dtype=np.float32
        )

    def _pca(self, x: np.ndarray, should_stop: Callable[[], bool] | None) -> np.ndarray:
        from sklearn.decomposition import PCA

        return PCA(
            self.n_components, svd_solver="full", random_state=self.random_state
        ).fit_transform(x)

    def _tsne(self, x: np.ndarray, should_stop: Callable[[], bool] | None) -> np.ndarray:
        perplexity = min(float(self.params["perplexity"]), (len(x) - 1) / 3.0)
        n_iter = int(self.params["n_iter"])
        if self.n_components == 3:  # openTSNE embeds in 1–2 dimensions only
            from sklearn.manifold import TSNE

            model = TSNE(
                3,
                perplexity=perplexity,
                max_iter=max(n_iter, 250),
                metric="cosine",
                init="pca",
                random_state=self.random_state,
                n_jobs=1,
            )
            return model.fit_transform(x)
        from openTSNE import TSNE
        from openTSNE.affinity import PerplexityBasedNN
        from openTSNE.nearest_neighbors import PrecomputedNeighbors

        k = min(len(x) - 1, int(3 * perplexity))  # openTSNE's own choice of k
        indices, distances = cosine_neighbors(x, k, should_stop)
        affinities = PerplexityBasedNN(
            perplexity=perplexity, knn_index=PrecomputedNeighbors(indices, distances), n_jobs=1
        )

        stopped: list[int] = []  # the iteration it stopped at: the embedding is unfinished

        def stop(iteration: int, error: float, embedding: Any) -> bool:
            if should_stop and should_stop():
                stopped.append(iteration)
            return bool(stopped)

        model = TSNE(
            2,
            perplexity=perplexity,
            n_iter=n_iter,
            early_exaggeration_iter=int(self.params["early_exaggeration_iter"]),
            # FFT gradients: "auto" picks Barnes–Hut below 10k points, which is slower here
            negative_gradient_method="fft",
            metric="cosine",
            random_state=self.random_state,
            n_jobs=1,  # one thread per worker: deterministic, and two workers fill two cores
            callbacks=stop if should_stop else None,
            callbacks_every_iters=10,
        )
        embedding = model.fit(x, affinities=affinities)
        if stopped:  # never returned as a map, even if the caller changed its mind since
            raise Cancelled("t-SNE was cancelled")
        return np.asarray(embedding)

    def _umap(self, x: np.ndarray, should_stop: Callable[[], bool] | None) -> np.ndarray:
        import umap

        n_neighbors = min(int(self.params["n_neighbors"]), len(x) - 1)
        indices, distances = cosine_neighbors(x, n_neighbors - 1, should_stop)
        # UMAP's neighbour lists start with the point itself, at distance 0
        indices = np.hstack([np.arange(len(x))[:, None], indices])
        distances = np.hstack([np.zeros((len(x), 1), dtype=distances.dtype), distances])
        model = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=n_neighbors,
            precomputed_knn=(indices, distances, None),
            min_dist=float(self.params["min_dist"]),
            metric="cosine",
            random_state=self.random_state,  # seeded ⇒ single-threaded and reproducible
            n_jobs=1,
            n_epochs=int(self.params["n_epochs"]),
            # umap-learn has no callback: its epoch loop's progress bar writes to this file,
            # which stops the loop (raises Cancelled) once the caller asks
            tqdm_kwds=_stop_bar(should_stop) if should_stop else None,
        )
        with warnings.catch_warnings():  # no search index is kept: maps are never extended
            warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
            return model.fit_transform(x)  # a stop raises Cancelled from inside the epoch loop


def cosine_neighbors(
    x: np.ndarray, k: int, should_stop: Callable[[], bool] | None = None, block_bytes: int = 2**25
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours by cosine distance, the point itself left out (as sklearn's
    kneighbors() does, also among duplicates): ([points, k] int64, [points, k] float32), nearest
    first. Computed in blocks of rows, checking `should_stop` between blocks."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms == 0, 1.0, norms)  # a zero vector: distance 1 to everything
    n = len(unit)
    rows = max(1, block_bytes // (8 * n))
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, rows):
        if should_stop and should_stop():
            raise Cancelled("the projection was cancelled")
        stop = min(start + rows, n)
        dist = 1.0 - unit[start:stop] @ unit.T  # [rows, points]
        dist[np.arange(stop - start), np.arange(start, stop)] = np.inf  # not its own neighbour
        near = np.argpartition(dist, k - 1, axis=1)[:, :k]
        near_dist = np.take_along_axis(dist, near, axis=1)
        order = np.argsort(near_dist, axis=1, kind="stable")
        indices[start:stop] = np.take_along_axis(near, order, axis=1)
        distances[start:stop] = np.maximum(np.take_along_axis(near_dist, order, axis=1), 0.0)
    return indices, distances


class _StopOnWrite:
    """A progress bar's output file that raises Cancelled (once) when asked to stop."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop
        self.raised = False

    def write(self, text: str) -> None:
        if not self.raised and self.should_stop():
            self.raised = True
            raise Cancelled("UMAP was cancelled")

    def flush(self) -> None:
        pass


def _stop_bar(should_stop: Callable[[], bool]) -> dict[str, Any]:
    """tqdm settings: draw (= check) at most every 0.2 s, whatever the epochs' pace."""
    return {"disable": False, "file": _StopOnWrite(should_stop), "mininterval": 0.2, "miniters": 1}
