"""Map fidelity: ρ per query equals scipy's Spearman recomputed one query at a time."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from dashboard.analytics.fidelity import MIN_KEYS, per_query_rho, rho_full, rho_map


def _direct_rho(pq, pk, q, k, sentence_of, causal):
    """One scipy call per query, over the keys of its sentence (≤ its position if causal)."""
    out = []
    for i in range(len(q)):
        keys = np.flatnonzero(sentence_of == sentence_of[i])
        if causal:
            keys = keys[keys <= i]
        if len(keys) < MIN_KEYS:
            continue
        out.append(spearmanr(q[i] @ k[keys].T, -np.linalg.norm(pq[i] - pk[keys], axis=1))[0])
    return float(np.mean(out))


@pytest.mark.parametrize("causal", [False, True])
def test_rho_full_and_rho_map_equal_scipy_per_query(causal):
    rng = np.random.default_rng(3)
    sentence_of = np.repeat([0, 1, 2, 3], [10, 2, 25, 6])
    q, k = rng.normal(size=(2, len(sentence_of), 8))
    coords_q, coords_k = rng.normal(size=(2, len(sentence_of), 2))
    assert rho_full(q, k, sentence_of, causal=causal) == pytest.approx(
        _direct_rho(q, k, q, k, sentence_of, causal), abs=1e-12
    )
    assert rho_map(coords_q, coords_k, q, k, sentence_of, causal=causal) == pytest.approx(
        _direct_rho(coords_q, coords_k, q, k, sentence_of, causal), abs=1e-12
    )


def test_queries_with_too_few_keys_are_skipped():
    rng = np.random.default_rng(0)
    sentence_of = np.repeat([0, 1], [2, 5])
    q, k = rng.normal(size=(2, len(sentence_of), 4))
    rho = per_query_rho(q, k, q, k, sentence_of, causal=True)
    # the 2-token sentence and the first two queries of the other have < 3 keys
    assert np.isnan(rho[:4]).all() and np.isfinite(rho[4:]).all()


def test_trustworthiness_of_several_maps_is_sklearns_for_each():
    """One ranking of the head's space serves every map, with scikit-learn's numbers — also
    with duplicated points (layer 0 of a BERT: every [CLS] query is the same vector)."""
    from sklearn.manifold import trustworthiness as sklearn_trustworthiness

    from dashboard.analytics.fidelity import trustworthiness_of_maps

    rng = np.random.default_rng(3)
    points = rng.normal(size=(300, 16))
    points[::30] = points[0]  # ten copies of one point
    maps = [points[:, :2], rng.normal(size=(300, 2)), points @ rng.normal(size=(16, 3))]
    found = trustworthiness_of_maps(points, maps)
    expected = [sklearn_trustworthiness(points, m, n_neighbors=10) for m in maps]
    assert found == pytest.approx(expected, rel=1e-12)
    assert found[0] > found[1]  # the map that keeps two real coordinates beats noise


def test_rhos_of_several_point_sets_are_each_set_on_its_own():
    from dashboard.analytics.fidelity import mean_rhos, rho_map

    rng = np.random.default_rng(4)
    q, k = rng.normal(size=(60, 8)), rng.normal(size=(60, 8))
    sentence_of = np.repeat(np.arange(6), 10)
    sets = [(q, k), (q[:, :2], k[:, :2]), (rng.normal(size=(60, 2)), rng.normal(size=(60, 2)))]
    for causal in (False, True):
        together = mean_rhos(sets, q, k, sentence_of, causal)
        alone = [rho_map(a, b, q, k, sentence_of, causal=causal) for a, b in sets]
        assert together == pytest.approx(alone, rel=1e-12)
