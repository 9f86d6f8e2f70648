"""Projections: seeded and reproducible, and faithful enough to neighbourhoods."""

import sys
import threading
import time

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from dashboard.projection import methods
from dashboard.projection.methods import Projector


def _clusters(n=600, d=24, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, d)) * 6
    labels = np.arange(n) % 4
    return centres[labels] + rng.normal(size=(n, d)), labels


@pytest.mark.parametrize("dims", [2, 3])
def test_pca_is_exactly_reproducible_and_faithful(dims):
    x, _ = _clusters()
    a = Projector("pca", dims).fit_transform(x)
    assert a.shape == (len(x), dims) and a.dtype == np.float32
    assert np.array_equal(a, Projector("pca", dims).fit_transform(x))
    assert trustworthiness(x, a, n_neighbors=10) > 0.85


@pytest.mark.parametrize("dims", [2, 3])
def test_pca_map_equals_a_direct_svd_of_the_centred_points(dims):
    x, _ = _clusters()
    centred = x - x.mean(axis=0)
    direct = centred @ np.linalg.svd(centred, full_matrices=False)[2][:dims].T
    direct *= methods.column_signs(direct)  # the sign rule every PCA map follows
    ours = Projector("pca", dims).fit_transform(x)
    np.testing.assert_allclose(ours, direct, rtol=0, atol=1e-5 * np.abs(direct).max())


@pytest.mark.parametrize("dims", [2, 3])
def test_tsne_is_seeded(dims):
    x, _ = _clusters(300)
    a = Projector("tsne", dims, random_state=7, params={"n_iter": 250}).fit_transform(x)
    b = Projector("tsne", dims, random_state=7, params={"n_iter": 250}).fit_transform(x)
    assert np.array_equal(a, b)
    assert trustworthiness(x, a, n_neighbors=10) > 0.85  # a random map scores ~0.5


@pytest.mark.slow
def test_umap_is_seeded_in_2d_and_3d():
    x, _ = _clusters(500)
    for dims in (2, 3):
        a = Projector("umap", dims, random_state=3).fit_transform(x)
        assert a.shape == (500, dims)
        assert np.array_equal(a, Projector("umap", dims, random_state=3).fit_transform(x))
        assert trustworthiness(x, a, n_neighbors=10) > 0.9


def _identical_groups(n_groups=20):
    """Groups of exactly n_neighbors + 1 identical points: each group is its own complete
    graph, whose Laplacian has UMAP's start vector (all ones) as an eigenvector, so ARPACK
    breaks down at once and restarts from a random vector."""
    size = methods.DEFAULTS["umap"]["n_neighbors"] + 1
    return np.repeat(np.random.default_rng(0).normal(size=(n_groups, 16)), size, axis=0)


def test_seeded_arpack_gives_eigsh_restarts_the_seed():
    import scipy.sparse.linalg as sla

    from dashboard.projection.arpack import seeded_arpack

    n = methods.DEFAULTS["umap"]["n_neighbors"] + 1
    laplacian = np.eye(n) - (np.ones((n, n)) - np.eye(n)) / (n - 1)  # a complete graph's

    def solve():
        return sla.eigsh(laplacian, 3, which="SM", v0=np.ones(n))[1]

    with seeded_arpack(0):
        first, again = solve(), solve()
    with seeded_arpack(1):
        other = solve()
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)  # the seed is what decides it


@pytest.mark.slow
def test_umap_is_seeded_where_arpack_restarts():
    x = _identical_groups()
    a = Projector("umap", 2, random_state=0).fit_transform(x)
    assert np.array_equal(a, Projector("umap", 2, random_state=0).fit_transform(x))


def test_tsne_stops_when_asked():
    from dashboard.projection.methods import Cancelled

    x, _ = _clusters(200)
    with pytest.raises(Cancelled):
        Projector("tsne", 2, params={"n_iter": 500}).fit_transform(x, should_stop=lambda: True)


def test_exact_neighbours_equal_sklearn_and_leave_the_point_out():
    from sklearn.neighbors import NearestNeighbors

    from dashboard.projection.methods import cosine_neighbors

    x, _ = _clusters(300)
    x[7] = x[3]  # a duplicate is still someone else's neighbour, never its own
    k = 12
    # small blocks: several of them, and one shorter at the end
    indices, distances = cosine_neighbors(x, k, block_bytes=8 * len(x) * 64)
    nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(x)
    ref_dist, ref_idx = nn.kneighbors()
    assert indices.shape == (len(x), k) and not (indices == np.arange(len(x))[:, None]).any()
    assert 3 in indices[7] and 7 in indices[3]
    np.testing.assert_allclose(distances, ref_dist, atol=1e-5)
    assert (np.diff(distances, axis=1) >= 0).all()  # nearest first
    same = [set(a) == set(b) for a, b in zip(indices, ref_idx, strict=True)]
    assert np.mean(same) > 0.98  # ties at the k-th distance may pick another equal point


def _stop_after(seconds: float):
    """A should_stop that turns true `seconds` after its first call; records when it did."""
    state: dict[str, float] = {}

    def should_stop() -> bool:
        now = time.monotonic()
        state.setdefault("first", now)
        if now - state["first"] >= seconds:
            state.setdefault("flipped", now)
            return True
        return False

    return should_stop, state


@pytest.mark.slow
@pytest.mark.parametrize("method, dims", [("tsne", 2), ("tsne", 3), ("umap", 2)])
def test_a_running_fit_stops_soon_after_it_is_asked(method, dims):
    """Cancel reaches the optimisation loop: t-SNE through openTSNE's callbacks (3D: before
    each of scikit-learn's gradient steps), UMAP through its epoch loop's progress bar;
    neighbour search checks between blocks."""
    from dashboard.projection.methods import Cancelled

    x, _ = _clusters(3000)
    Projector(method, dims, params={"n_iter": 5, "n_epochs": 5}).fit_transform(x[:300])  # JIT
    should_stop, state = _stop_after(0.5)
    long = {"n_iter": 3_000, "n_epochs": 3_000}  # many seconds, were it not stopped
    with pytest.raises(Cancelled):
        Projector(method, dims, params=long).fit_transform(x, should_stop=should_stop)
    assert time.monotonic() - state["flipped"] < 1.0
    # tqdm's process-wide lock is free again: held, a worker's event loop hung on the next bar
    from tqdm import tqdm

    taken: list[bool] = []

    def take_and_release() -> None:
        locks = tqdm.get_lock().locks
        got = [lock.acquire(timeout=5) for lock in locks]
        taken.append(all(got))
        for lock, held in zip(locks[::-1], got[::-1], strict=True):
            if held:
                lock.release()

    other = threading.Thread(target=take_and_release)
    other.start()
    other.join()
    assert taken == [True]


def test_a_stoppable_3d_tsne_is_the_same_map():
    """Listening for a stop changes nothing in the result (seeded)."""
    x, _ = _clusters(300)
    plain = Projector("tsne", 3, params={"n_iter": 250}).fit_transform(x)
    listened = Projector("tsne", 3, params={"n_iter": 250}).fit_transform(x, lambda: False)
    np.testing.assert_array_equal(plain, listened)


def test_bad_arguments_say_what_is_allowed():
    with pytest.raises(ValueError, match="pca, tsne, umap"):
        Projector("mds")
    with pytest.raises(ValueError, match="2 or 3"):
        Projector("pca", 4)
    with pytest.raises(ValueError, match="too few points"):
        Projector("pca").fit_transform(np.zeros((2, 3)))


def test_library_versions_are_read_once_per_process(monkeypatch):
    # every coordinate cache key holds the library's version; reading package metadata for each
    # of a matrix's 144 keys made a render 90 % key-building (bench/load)
    from dashboard.projection import methods

    reads = []

    def counting_version(name: str) -> str:
        reads.append(name)
        return "1.0"

    methods.library_version.cache_clear()
    monkeypatch.setattr(methods, "version", counting_version)
    try:
        keys = {methods.library_version("umap") for _ in range(100)}
        assert keys == {"umap-learn=1.0"} and reads == ["umap-learn"]
        assert methods.library_version("tsne") == "openTSNE=1.0,scikit-learn=1.0"
    finally:
        methods.library_version.cache_clear()  # later tests read the real versions


TEMPORARIES = 20
FAULTS_OF_TEMPORARIES = f"""
import resource, sys
import numpy as np
from dashboard.warmup import undo_dasks_malloc_trim
undone = undo_dasks_malloc_trim() if sys.argv[1] == "undo" else False
np.ones(2**20).sum()  # 8 MiB: from the heap or mmapped, by the threshold
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range({TEMPORARIES}):
    np.ones(2**20).sum()
print(undone, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_a_dask_worker_command_keeps_big_temporaries_in_the_heap():
    """`dask worker` gives its workers MALLOC_TRIM_THRESHOLD_, and glibc then maps and faults
    every big temporary afresh (t-SNE ~1.4× slower); the workers' preload undoes it."""
    import os
    import subprocess

    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}

    def faults(mode: str) -> tuple[str, int]:
        out = subprocess.run(
            [sys.executable, "-c", FAULTS_OF_TEMPORARIES, mode],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        return out[0], int(out[1])

    undone, with_dasks = faults("keep")
    # the problem, as Dask's setting makes it: each temporary mapped and faulted afresh
    assert undone == "False" and with_dasks >= TEMPORARIES
    undone, fixed = faults("undo")
    assert undone == "True" and fixed < with_dasks / 10


def test_workers_never_take_priority_over_a_nicer_start():
    """A worker yields the cores (WORKER_NICENESS) but is never made *less* nice than it was
    started: as root, a pool started under `nice 19` beside a web tier went to 10 and starved
    it (seen in a load run)."""
    import os
    import subprocess

    from dashboard.warmup import WORKER_NICENESS

    script = (
        "import os; from dashboard.warmup import yield_the_cores; yield_the_cores(); "
        "print(os.getpriority(os.PRIO_PROCESS, 0))"
    )

    def niceness_after(start: int) -> int:
        run = subprocess.run(
            [sys.executable, "-c", script],
            preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, start),
            capture_output=True,
            text=True,
            check=True,
        )
        return int(run.stdout)

    here = os.getpriority(os.PRIO_PROCESS, 0)
    assert niceness_after(here) == max(here, WORKER_NICENESS)
    nicer = WORKER_NICENESS + 5
    assert niceness_after(nicer) == nicer
