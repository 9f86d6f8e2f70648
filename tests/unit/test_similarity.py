"""Head similarity: Jensen–Shannon distance between attention patterns, and its MDS map."""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from dashboard.analytics.similarity import (
    attention_rows,
    embed,
    head_distances,
    js_distances,
    most_similar,
    sample_queries,
)
from dashboard.models.qk import TokenTable, softmax_attention


def _table(lengths):
    position = np.concatenate([np.arange(n) for n in lengths]).astype(np.int32)
    sentence = np.concatenate([np.full(n, i) for i, n in enumerate(lengths)]).astype(np.int32)
    length = np.concatenate([np.full(n, n) for n in lengths]).astype(np.int32)
    n = len(position)
    return TokenTable(
        token=np.array(["t"] * n),
        sentence=sentence,
        position=position,
        length=length,
        special=np.zeros(n, dtype=bool),
    )


def _layer(n_heads=4, pos=23, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_heads, pos, d)), rng.normal(size=(n_heads, pos, d))


def test_known_answer_one_hot_against_uniform():
    # one query, two keys: head 0 attends only to key 0, head 1 half and half
    weights = np.array([[1.0, 0.0], [0.5, 0.5]])
    d = js_distances(weights, np.array([0]))
    # by hand: m = (¾, ¼); KL(p‖m) = log₂(4/3); KL(q‖m) = ½log₂(⅔) + ½log₂2
    jsd = 0.5 * np.log2(4 / 3) + 0.5 * (0.5 * np.log2(2 / 3) + 0.5)
    assert d[0, 1] == pytest.approx(np.sqrt(jsd), abs=1e-12)
    assert d[0, 1] == pytest.approx(0.5579230, abs=1e-6)
    # disjoint attention is the maximum, 1
    assert js_distances(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0]))[0, 1] == 1.0


@pytest.mark.parametrize("causal", [False, True])
def test_distances_equal_a_direct_recomputation_per_query(causal):
    table = _table([7, 9, 7])
    q, k = _layer()
    q[2], k[2] = q[0], k[0]  # head 2 is head 0
    chosen = sample_queries(table, causal, budget=10**9)  # every query
    assert chosen.all()
    weights, starts = attention_rows(q, k, table, causal, chosen)
    d = js_distances(weights, starts)
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0.0)
    assert d[0, 2] == pytest.approx(0.0, abs=1e-7)  # identical heads
    assert (d[np.triu_indices(4, 1)][[0, 2, 3, 4, 5]] > 0.01).all()
    # direct: scipy's JS distance for every query, averaged
    expected = np.zeros((4, 4))
    for span in table.sentence_slices():
        w = softmax_attention(q[:, span], k[:, span], causal)
        for a in range(4):
            for b in range(4):
                expected[a, b] += sum(
                    jensenshannon(
                        w[a, r, : r + 1 if causal else None],
                        w[b, r, : r + 1 if causal else None],
                        base=2,
                    )
                    for r in range(w.shape[1])
                )
    np.testing.assert_allclose(d, expected / len(table), atol=1e-6)


def test_sampling_keeps_under_the_budget_and_spreads_over_the_corpus():
    table = _table([30] * 20)
    chosen = sample_queries(table, causal=False, budget=3_000)
    assert int(table.length[chosen].sum()) <= 3_000
    assert set(table.sentence[chosen]) == set(range(20))  # every sentence has sampled queries
    assert sample_queries(table, False, 1).sum() == 1


def test_every_head_of_a_model_with_the_similar_ones_first():
    table = _table([6, 8, 5])
    layers = [_layer(3, seed=1), _layer(3, seed=2)]
    layers[1][0][1], layers[1][1][1] = layers[0][0][2], layers[0][1][2]  # L1H1 is L0H2
    d, info = head_distances(layers, table, causal=False)
    assert d.shape == (6, 6) and info["n_queries"] == len(table)
    assert d[4, 2] == pytest.approx(0.0, abs=1e-7)  # layer-major: L1H1 = 4, L0H2 = 2
    assert most_similar(d, 4, 5)[0] == (2, pytest.approx(0.0, abs=1e-7))
    others = sorted(set(range(6)) - {4}, key=lambda i: d[4, i])
    assert [i for i, _ in most_similar(d, 4, 5)] == others


def test_mds_map_is_seeded_and_keeps_near_heads_near():
    rng = np.random.default_rng(3)
    points = np.concatenate([rng.normal(0, 0.1, (6, 4)), rng.normal(3, 0.1, (6, 4))])
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    xy = embed(d, seed=0)
    assert xy.shape == (12, 2) and np.array_equal(xy, embed(d, seed=0))
    flat = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    assert flat[:6, :6].max() < flat[:6, 6:].min()  # the two groups stay apart
