"""Projection as an estimator: Projector(method, n_components, random_state, **params).

Seeds go to the library; the global RNG is never touched. Same inputs + seed ⇒ same map.
Libraries are imported on first use (UMAP pulls numba, whose JIT warm-up runs once per worker).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

import numpy as np

Method = Literal["pca", "tsne", "umap"]
METHODS: dict[str, str] = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
DEFAULTS: dict[str, dict[str, Any]] = {
    # each component's sign: the one that makes its scores' skewness positive (see fix_signs);
    # components from the [d, d] covariance's eigenvectors, not an SVD of the [points, d] data:
    # the same map (1e-12 apart) ~9× faster for a head of 40,000 points (BERT-base, 20k tokens)
    "pca": {"signs": "skew", "solver": "covariance_eigh"},
    # fewer iterations than the libraries' defaults (750 + 250): on real heads of the default
    # matrix, 150 + 75 fit 2.3× faster than the 300 + 125 used before issue 12 with
    # trustworthiness@10 within 0.002 of it (bench/tsne.py); both are in every cache key.
    # neighbours: exact cosine k-NN computed here in blocks (faster than openTSNE's approximate
    # search at these sizes, a Cancel is seen between blocks, and it can place new points)
    "tsne": {
        "perplexity": 30.0,
        "n_iter": 150,
        "early_exaggeration_iter": 75,
        "neighbors": "exact",
    },
    "umap": {"n_neighbors": 15, "min_dist": 0.1, "n_epochs": 200},
}
_LIBRARY = {"pca": "scikit-learn", "tsne": "openTSNE", "umap": "umap-learn"}


class Cancelled(Exception):
    """Raised inside a projection when the caller asked it to stop."""


@cache  # read once per process: parsing a package's metadata costs ~3 ms, and a matrix render
# builds 144 coordinate keys (it made a render 90 % key-building; found by bench/load). A library
# upgraded meanwhile takes effect in new processes, which read the new version.
def library_version(method: str) -> str:
    """Goes into cache keys: a new library version may give a different map."""
    names = [_LIBRARY[method]] + (["scikit-learn"] if method == "tsne" else [])
    try:
        return ",".join(f"{n}={version(n)}" for n in names)
    except PackageNotFoundError:
        return "missing"


def column_signs(scores: np.ndarray) -> np.ndarray:
    """[c] ±1: each column of [points, c] PCA scores gets the sign that makes its skewness (sum
    of cubes) positive, or where that is ~0 its largest |score| positive.

    Decided from the scores, not the loadings (scikit-learn's rule): a map then does not mirror
    when the input space is rotated or reflected (x → −x, a flipped axis, another run of a
    library that returns Q/K with other signs), because the scores themselves do not change."""
    signs = np.ones(scores.shape[1])
    for j in range(scores.shape[1]):
        column = scores[:, j].astype(np.float64)
        skew = float(np.sum(column**3))
        if abs(skew) > 1e-6 * float(np.sum(np.abs(column) ** 3)):
            signs[j] = np.sign(skew)
        else:
            signs[j] = np.sign(column[np.argmax(np.abs(column))]) or 1.0
    return signs


def fix_signs(scores: np.ndarray) -> np.ndarray:
    """The scores with column_signs applied."""
    return (scores * column_signs(scores)).astype(scores.dtype)


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
        return self.fit(x, should_stop)[0]

    def fit(
        self, x: np.ndarray, should_stop: Callable[[], bool] | None = None
    ) -> tuple[np.ndarray, Any]:
        """(fit_transform's coordinates, the fitted model that `place` takes)."""
        if len(x) < 4:
            raise ValueError("too few points to project (need at least 4)")
        fit = getattr(self, f"_{self.method}")
        coords, fitted = fit(np.asarray(x, dtype=np.float64), should_stop)
        return np.ascontiguousarray(coords, dtype=np.float32), fitted

    def cannot_place(self) -> str | None:
        """Why this projection cannot place new points into its map; None when it can."""
        if self.method == "tsne" and self.n_components == 3:
            return (
                "t-SNE 3D cannot place new points into a map (scikit-learn's t-SNE has no "
                "transform): choose 2D, PCA or UMAP."
            )
        return None

    def place(self, fitted: Any, x: np.ndarray) -> np.ndarray:
        """New points [n, d] into a fitted map without refitting it: PCA's exact projection,
        UMAP's and openTSNE's `transform`."""
        if fitted is None:
            raise ValueError(self.cannot_place() or "this map was not fitted")
        placed = fitted.transform(np.asarray(x, dtype=np.float64))
        return np.ascontiguousarray(placed, dtype=np.float32)

    def _pca(self, x: np.ndarray, should_stop: Callable[[], bool] | None):
        from sklearn.decomposition import PCA

        model = PCA(
            self.n_components, svd_solver=self.params["solver"], random_state=self.random_state
        )
        scores = model.fit_transform(x)
        signs = column_signs(scores)
        model.components_ *= signs[:, None]  # so `place` (transform) agrees with the map
        return scores * signs, model

    def _tsne(self, x: np.ndarray, should_stop: Callable[[], bool] | None):
        perplexity = min(float(self.params["perplexity"]), (len(x) - 1) / 3.0)
        n_iter = int(self.params["n_iter"])
        if self.n_components == 3:  # openTSNE embeds in 1–2 dimensions only
            from sklearn.manifold import TSNE

            from dashboard.projection.stoppable_tsne import stoppable_tsne

            model = TSNE(
                3,
                perplexity=perplexity,
                max_iter=max(n_iter, 250),
                metric="cosine",
                init="pca",
                random_state=self.random_state,
                n_jobs=1,
            )
            # no callback: its neighbour search and each gradient step check should_stop here
            with stoppable_tsne(should_stop):
                return model.fit_transform(x), None  # no transform for new points
        from openTSNE import TSNE
        from openTSNE.affinity import PerplexityBasedNN

        k = min(len(x) - 1, int(3 * perplexity))  # openTSNE's own choice of k
        index = _exact_cosine_index()(x, k, should_stop)
        affinities = PerplexityBasedNN(perplexity=perplexity, knn_index=index, n_jobs=1)

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
        return np.asarray(embedding), embedding  # a TSNEEmbedding: its transform places points

    def _umap(self, x: np.ndarray, should_stop: Callable[[], bool] | None):
        import umap

        from dashboard.projection.arpack import seeded_arpack

        n_neighbors = min(int(self.params["n_neighbors"]), len(x) - 1)
        # UMAP's own neighbours (exact pairwise under 4,096 points, else NN-descent): its search
        # index is what `transform` (a sentence dropped into the map) needs
        model = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=n_neighbors,
            min_dist=float(self.params["min_dist"]),
            metric="cosine",
            random_state=self.random_state,  # seeded ⇒ single-threaded and reproducible
            n_jobs=1,
            n_epochs=int(self.params["n_epochs"]),
            # umap-learn has no callback: its epoch loop's progress bar writes to this file,
            # which stops the loop (raises Cancelled) once the caller asks
            tqdm_kwds=_stop_bar(should_stop) if should_stop else None,
        )
        # its spectral initialisation may restart ARPACK from a random vector: seeded here
        with seeded_arpack(self.random_state):
            return model.fit_transform(x), model  # a stop raises Cancelled inside the epochs


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)  # a zero vector: distance 1 to everything


def cosine_neighbors(
    x: np.ndarray,
    k: int,
    should_stop: Callable[[], bool] | None = None,
    block_bytes: int = 2**25,
    among: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours by cosine distance: among x itself, the point itself left out
    (as sklearn's kneighbors() does, also among duplicates), or among the points `among`.
    ([points, k] int64, [points, k] float32), nearest first. Computed in blocks of rows,
    checking `should_stop` between blocks."""
    unit = _unit(x)
    others = unit if among is None else _unit(among)
    n = len(unit)
    rows = max(1, block_bytes // (8 * len(others)))
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, rows):
        if should_stop and should_stop():
            raise Cancelled("the projection was cancelled")
        stop = min(start + rows, n)
        dist = 1.0 - unit[start:stop] @ others.T  # [rows, points]
        if among is None:  # not its own neighbour
            dist[np.arange(stop - start), np.arange(start, stop)] = np.inf
        near = np.argpartition(dist, k - 1, axis=1)[:, :k]
        near_dist = np.take_along_axis(dist, near, axis=1)
        order = np.argsort(near_dist, axis=1, kind="stable")
        indices[start:stop] = np.take_along_axis(near, order, axis=1)
        distances[start:stop] = np.maximum(np.take_along_axis(near_dist, order, axis=1), 0.0)
    return indices, distances


@cache
def _exact_cosine_index() -> type:
    """openTSNE's KNNIndex over cosine_neighbors: built by the fit, queried by `transform` (a
    sentence dropped into the map). Defined on first use: openTSNE is imported lazily."""
    from openTSNE.nearest_neighbors import KNNIndex

    class ExactCosine(KNNIndex):
        VALID_METRICS = ("cosine",)

        def __init__(self, data: np.ndarray, k: int, should_stop=None, **kwargs) -> None:
            super().__init__(data, k, metric="cosine", **kwargs)
            self.should_stop = should_stop

        def build(self) -> tuple[np.ndarray, np.ndarray]:
            return cosine_neighbors(self.data, self.k, self.should_stop)

        def query(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            return cosine_neighbors(np.asarray(query, np.float64), k, among=self.data)

    return ExactCosine


class _StopOnWrite:
    """A progress output (UMAP's bar) that raises Cancelled (once) when asked to stop."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop
        self.raised = False

    def write(self, text: str) -> None:
        if not self.raised and self.should_stop():
            self.raised = True
            _release_refresh_lock()  # when written from a tqdm bar's refresh
            raise Cancelled("the projection was cancelled")

    def flush(self) -> None:
        pass


def _release_refresh_lock() -> None:
    """tqdm's `refresh` takes the bars' process-wide lock and releases it after drawing, without
    try/finally: raising from the bar's file left the lock held by the task's thread, and the next
    bar closed in the worker (a garbage-collected one, in its event loop) waited forever — both
    workers hung after a UMAP Cancel (bench/cancel_memory.py). Released here for that refresh."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "refresh" and frame.f_globals.get("__name__") == "tqdm.std":
            if not frame.f_locals.get("nolock"):
                frame.f_locals["self"]._lock.release()
            return
        frame = frame.f_back


def _stop_bar(should_stop: Callable[[], bool]) -> dict[str, Any]:
    """tqdm settings: draw (= check) at most every 0.2 s, whatever the epochs' pace."""
    return {"disable": False, "file": _StopOnWrite(should_stop), "mininterval": 0.2, "miniters": 1}
