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
