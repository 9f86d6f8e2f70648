"""SciPy's ARPACK seeded for the length of a seeded fit.

When a Lanczos run breaks down (an invariant subspace: a graph of identical components, as an
embedding layer's duplicate tokens make), `scipy.sparse.linalg.eigsh` restarts from a random
vector drawn from OS entropy unless it is given `rng`. UMAP's spectral initialisation, and the
scikit-learn SpectralEmbedding it lays out many components with, pass a start vector but no
`rng`: such a head got another map on every fit, seed or not (bench section 7 found it: a
BERT-base layer-0 map differed between two pools). Inside `seeded_arpack(seed)`, those calls
get a generator seeded with the fit's seed; every other caller is left as it was.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

# where the libraries look eigsh up: umap-learn through the module, scikit-learn by its own name
_HOLDERS = ("scipy.sparse.linalg", "sklearn.manifold._spectral_embedding")
_seed = threading.local()  # a worker's warm-up fit runs beside its task in another thread
_installing = threading.Lock()


def _with_seed(eigsh: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(eigsh)
    def eigsh_seeded(*args: Any, **kwargs: Any) -> Any:
        seed = getattr(_seed, "value", None)
        if seed is not None and kwargs.get("rng") is None:
            kwargs["rng"] = np.random.default_rng(seed)
        return eigsh(*args, **kwargs)

    eigsh_seeded.qkatlas_seeded = True  # type: ignore[attr-defined]
    return eigsh_seeded


def _install() -> None:
    with _installing:
        for name in _HOLDERS:
            module = importlib.import_module(name)
            eigsh = module.eigsh
            # an older SciPy has no `rng`: its Fortran ARPACK restarted from a fixed seed
            if (
                not getattr(eigsh, "qkatlas_seeded", False)
                and "rng" in inspect.signature(eigsh).parameters
            ):
                module.eigsh = _with_seed(eigsh)


@contextmanager
def seeded_arpack(seed: int) -> Iterator[None]:
    """Every eigsh call this thread makes meanwhile without an `rng` gets one seeded `seed`."""
    _install()
    previous = getattr(_seed, "value", None)
    _seed.value = seed
    try:
        yield
    finally:
        _seed.value = previous
