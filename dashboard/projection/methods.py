"""Projection as an estimator: Projector(method, n_components, random_state, **params).

Seeds go to the library; the global RNG is never touched. Same inputs + seed ⇒ same map.
Libraries are imported on first use (UMAP pulls numba, whose JIT warm-up runs once per worker).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

import numpy as np

Method = Literal["pca", "tsne", "umap"]
METHODS: dict[str, str] = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
DEFAULTS: dict[str, dict[str, Any]] = {
    "pca": {},
    # fewer iterations than the libraries' defaults: measured 2–3× faster per head (bench/) with
    # maps whose neighbourhoods hold up (trustworthiness tests); both are in every cache key
    "tsne": {"perplexity": 30.0, "n_iter": 300, "early_exaggeration_iter": 125},
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

        def stop(iteration: int, error: float, embedding: Any) -> bool:
            return bool(should_stop and should_stop())

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
            callbacks_every_iters=25,
        )
        embedding = model.fit(x)
        if should_stop and should_stop():
            raise Cancelled("t-SNE was cancelled")
        return np.asarray(embedding)

    def _umap(self, x: np.ndarray, should_stop: Callable[[], bool] | None) -> np.ndarray:
        import umap

        model = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=min(int(self.params["n_neighbors"]), len(x) - 1),
            min_dist=float(self.params["min_dist"]),
            metric="cosine",
            random_state=self.random_state,  # seeded ⇒ single-threaded and reproducible
            n_jobs=1,
            n_epochs=int(self.params["n_epochs"]),
        )
        return model.fit_transform(x)
