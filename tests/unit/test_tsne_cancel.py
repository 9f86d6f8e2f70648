"""3D t-SNE (scikit-learn) stops within a block of its neighbour search or a gradient step of a
Cancel, and gives the same map when not stopped. Real scikit-learn; calls are counted, not timed."""

import threading

import numpy as np
import pytest
from sklearn.manifold import TSNE, _t_sne
from sklearn.neighbors import NearestNeighbors

from dashboard.projection import stoppable_tsne as stoppable
from dashboard.projection.methods import Cancelled, Projector


def _points(n: int, seed: int = 0) -> np.ndarray:
    """[n, 64] clusters, with groups of exact duplicates (an embedding layer's repeated tokens):
    the points where a distance's last bit decides the neighbours."""
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(12, 64)) * 4)[np.arange(n) % 12] + rng.normal(size=(n, 64))
    x[: 40 * 5] = np.repeat(x[:40], 5, axis=0)
    return x


@pytest.fixture
def gradients(monkeypatch) -> list[int]:
    """Counts scikit-learn's Barnes–Hut gradient evaluations (one per gradient step)."""
    calls: list[int] = []
    gradient = _t_sne._barnes_hut_tsne.gradient

    def counted(*args, **kwargs):
        calls.append(1)
        return gradient(*args, **kwargs)

    monkeypatch.setattr(_t_sne._barnes_hut_tsne, "gradient", counted)
    return calls


@pytest.fixture
def small_blocks(monkeypatch) -> int:
    """Rows per block of the neighbour search: several blocks on a small set."""
    rows = 97  # 2,503 points: 26 blocks, the last one shorter
    monkeypatch.setattr(stoppable, "BLOCK_BYTES", 8 * 2_503 * rows)
    return rows


def test_neighbour_graph_is_sklearns_to_the_bit(small_blocks):
    x = _points(2_503)
    model = NearestNeighbors(n_neighbors=91, metric="cosine", n_jobs=1).fit(x)
    plain = model.kneighbors_graph(mode="distance")
    checks: list[int] = []
    with stoppable.stoppable_tsne(lambda: bool(checks.append(1))):
        blocked = model.kneighbors_graph(mode="distance")
    blocks = -(-len(x) // small_blocks)
    assert len(checks) == 2 * blocks + 1  # the blocked path ran: touch, product, distances
    for part in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(blocked, part), getattr(plain, part))


def test_a_stoppable_fit_is_the_same_map_and_checks_every_step(small_blocks, gradients):
    x = _points(2_503)
    plain = Projector("tsne", 3, random_state=5).fit_transform(x)
    steps = len(gradients)
    checks: list[int] = []
    listened = Projector("tsne", 3, random_state=5).fit_transform(
        x, should_stop=lambda: bool(checks.append(1))
    )
    np.testing.assert_array_equal(listened, plain)
    assert len(gradients) == 2 * steps
    blocks = -(-len(x) // small_blocks)
    assert len(checks) == 2 * blocks + 1 + steps  # each block, the product, each gradient step


def _stop_at(call: int, gradients: list[int]):
    """A should_stop that turns true at its `call`-th call; records the gradient steps run then."""
    state = {"calls": 0, "steps_at_stop": None}

    def should_stop() -> bool:
        state["calls"] += 1
        if state["calls"] >= call:
            if state["steps_at_stop"] is None:
                state["steps_at_stop"] = len(gradients)
            return True
        return False

    return should_stop, state


@pytest.mark.parametrize("call", [3, 30])  # touching the pages; turning rows into neighbours
def test_a_stop_in_the_neighbour_search_ends_it_at_that_block(small_blocks, gradients, call):
    should_stop, state = _stop_at(call, gradients)
    with pytest.raises(Cancelled):
        Projector("tsne", 3).fit_transform(_points(2_503), should_stop=should_stop)
    assert state["calls"] == call  # not one block more
    assert gradients == []  # never reached the descent


def test_a_stop_in_the_descent_ends_it_before_the_next_step(gradients):
    x = _points(2_503)
    blocks = -(-len(x) // max(1, stoppable.BLOCK_BYTES // (8 * len(x))))
    steps = 20  # the old check, at the progress line every 50 steps, ran 30 steps more
    should_stop, state = _stop_at(2 * blocks + 1 + steps + 1, gradients)
    with pytest.raises(Cancelled):
        Projector("tsne", 3).fit_transform(x, should_stop=should_stop)
    assert state["steps_at_stop"] == steps
    assert len(gradients) == steps  # no gradient step once the stop was asked


def test_only_the_asking_thread_stops():
    x = _points(400)
    plain = Projector("tsne", 3).fit_transform(x)
    beside: list[np.ndarray] = []
    with stoppable.stoppable_tsne(lambda: True):
        # a worker's warm-up fit, in another thread, meanwhile: not stopped, the same map
        other = threading.Thread(
            target=lambda: beside.append(Projector("tsne", 3).fit_transform(x))
        )
        other.start()
        other.join()
        with pytest.raises(Cancelled):
            TSNE(3, metric="cosine", init="pca", random_state=0, n_jobs=1).fit_transform(x)
    np.testing.assert_array_equal(beside[0], plain)
    np.testing.assert_array_equal(Projector("tsne", 3).fit_transform(x), plain)  # after the block
