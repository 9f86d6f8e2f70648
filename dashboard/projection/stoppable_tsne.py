"""scikit-learn's t-SNE (the 3D maps) stopped within moments of a Cancel.

scikit-learn's TSNE takes no callback. A fit spends its time in two places: the exact cosine
neighbours, one [points, points] distance matrix (~4 s for 8,800 points, twice that on a busy
machine), and the gradient descent, which calls the module's objective (`_kl_divergence_bh`, or
`_kl_divergence` for method="exact") once per iteration (0.05–1 s each). Inside
`stoppable_tsne(should_stop)`, this thread's calls of both check `should_stop` and raise Cancelled
once it is true; every other thread (a worker's warm-up fit beside its task) and every call
outside the block run scikit-learn's code as it is. Before, a Cancel was seen only at the
progress line printed every 50 iterations: up to 9.9 s (bench section 8).

The distances are scikit-learn's own operations in the same order, so the same bits and the same
map; only their pages are touched, and their rows turned into distances and neighbours, one block
at a time with a check between blocks. The product x·xᵀ stays one call (0.3–0.6 s): BLAS computes
it as one syrk, whose edge tiles round differently from a product of row blocks.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from dashboard.projection.methods import Cancelled

# where scikit-learn looks them up at each call
_OBJECTIVES = ("sklearn.manifold._t_sne", ("_kl_divergence_bh", "_kl_divergence"))
_NEIGHBOURS = ("sklearn.neighbors._base", "pairwise_distances_chunked")  # kneighbors' chunks
BLOCK_BYTES = 2**25  # of distances between two checks: ~480 rows of 8,800 points, ~20 ms each
_fit = threading.local()  # a worker's warm-up fit runs beside its task in another thread
_installing = threading.Lock()


def _check() -> None:
    should_stop = getattr(_fit, "should_stop", None)
    if should_stop is not None and should_stop():
        raise Cancelled("t-SNE was cancelled")


def _checked_objective(objective: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(objective)
    def objective_checked(*args: Any, **kwargs: Any) -> Any:
        _check()  # before each gradient step
        return objective(*args, **kwargs)

    objective_checked.qkatlas_stoppable = True  # type: ignore[attr-defined]
    return objective_checked


def _checked_chunks(chunked: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    @functools.wraps(chunked)
    def chunked_checked(
        X: Any, Y: Any = None, *, reduce_func: Callable[..., Any] | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        # t-SNE's neighbour search: kneighbors(X=None) of a cosine NearestNeighbors (brute)
        if (
            getattr(_fit, "should_stop", None) is not None
            and Y is X
            and reduce_func is not None
            and isinstance(X, np.ndarray)
            and X.dtype == np.float64
            and X.ndim == 2
            and kwargs.get("metric") == "cosine"
            and not set(kwargs) - {"metric", "n_jobs", "working_memory"}
        ):
            return _cosine_blocks(X, reduce_func)
        return chunked(X, Y, reduce_func=reduce_func, **kwargs)

    chunked_checked.qkatlas_stoppable = True  # type: ignore[attr-defined]
    return chunked_checked


def _cosine_blocks(x: np.ndarray, reduce_func: Callable[..., Any]) -> Iterator[Any]:
    """What pairwise_distances_chunked(x, x, metric="cosine", reduce_func) yields, computed as
    scikit-learn's cosine_distances(x, x) computes it, in row blocks with a check between."""
    from sklearn.preprocessing import normalize

    n = len(x)
    rows = max(1, BLOCK_BYTES // (8 * n))
    blocks = [slice(start, min(start + rows, n)) for start in range(0, n, rows)]
    similarity = np.empty((n, n))  # [points, points]
    for block in blocks:  # the first touch of fresh pages: seconds on a busy machine
        _check()
        similarity[block] = 0.0
    _check()
    unit = normalize(x, copy=True)
    np.matmul(unit, unit.T, out=similarity)  # one syrk, as cosine_similarity's `unit @ unit.T`
    for block in blocks:
        _check()
        distance = similarity[block]  # [rows, points], a view
        distance *= -1  # the rest of cosine_distances, in its order
        distance += 1
        distance[distance < 0.0] = 0.0  # its clip to [0, 2]
        distance[distance > 2.0] = 2.0
        own = np.arange(block.stop - block.start)
        distance[own, block.start + own] = 0.0  # x is y: each point at 0 from itself
        yield reduce_func(distance, block.start)


def _install() -> None:
    with _installing:
        module_name, names = _OBJECTIVES
        module = importlib.import_module(module_name)
        for name in names:
            objective = getattr(module, name)
            if not getattr(objective, "qkatlas_stoppable", False):
                setattr(module, name, _checked_objective(objective))
        module_name, name = _NEIGHBOURS
        module = importlib.import_module(module_name)
        chunked = getattr(module, name)
        if not getattr(chunked, "qkatlas_stoppable", False):
            setattr(module, name, _checked_chunks(chunked))


@contextmanager
def stoppable_tsne(should_stop: Callable[[], bool] | None) -> Iterator[None]:
    """This thread's scikit-learn t-SNE fits meanwhile raise Cancelled soon after `should_stop`
    turns true: between blocks of the neighbour search and before every gradient step."""
    if should_stop is None:
        yield
        return
    _install()
    previous = getattr(_fit, "should_stop", None)
    _fit.should_stop = should_stop
    try:
        yield
    finally:
        _fit.should_stop = previous
