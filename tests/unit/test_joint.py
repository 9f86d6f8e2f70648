"""Key translation and norm scaling must not change what attention computes."""

import numpy as np

from dashboard.models.qk import TokenTable, attention_from_qk
from dashboard.projection.joint import joint_points, norm_scale, translate_keys


def _table(lengths):
    n = sum(lengths)
    return TokenTable(
        token=np.array(["t"] * n),
        sentence=np.repeat(np.arange(len(lengths)), lengths).astype(np.int32),
        position=np.concatenate([np.arange(k) for k in lengths]).astype(np.int32),
        length=np.repeat(lengths, lengths).astype(np.int32),
        special=np.zeros(n, bool),
    )


def _qk(rng, n, d=16):
    q = rng.normal(size=(n, d)) + 3.0  # offset centroids, as real heads have
    k = rng.normal(size=(n, d)) * 2.5 - 1.0
    return q, k


def test_key_translation_leaves_attention_within_each_sentence_unchanged():
    rng = np.random.default_rng(1)
    table = _table([5, 9, 3])
    q, k = _qk(rng, len(table))
    shifted = translate_keys(q, k)
    assert np.allclose(shifted.mean(axis=0), q.mean(axis=0))
    before = attention_from_qk(q[None], k[None], table, causal=False)
    after = attention_from_qk(q[None], shifted[None], table, causal=False)
    for a, b in zip(before, after, strict=True):
        assert np.allclose(a, b, atol=1e-12)
    # …but it does change raw scores, so the test would catch a translation applied wrongly
    assert not np.allclose(q @ k.T, q @ shifted.T)


def test_norm_scaling_keeps_every_dot_product_and_balances_norms():
    rng = np.random.default_rng(2)
    q, k = _qk(rng, 40)
    q2, k2, c = norm_scale(q, k)
    assert c != 1.0
    assert np.allclose(q2 @ k2.T, q @ k.T)
    assert np.isclose(np.linalg.norm(q2, axis=1).mean(), np.linalg.norm(k2, axis=1).mean())


def test_joint_points_stack_queries_then_keys():
    rng = np.random.default_rng(3)
    q, k = _qk(rng, 7)
    points = joint_points(q, k, translate=False, scale=False)
    assert points.shape == (14, 16)
    assert np.array_equal(points[:7], q) and np.array_equal(points[7:], k)
    both = joint_points(q, k, translate=True, scale=True)
    assert np.allclose(both[:7].mean(axis=0), both[7:].mean(axis=0))


def test_causal_attention_masks_the_future():
    rng = np.random.default_rng(4)
    table = _table([6])
    q, k = _qk(rng, 6)
    (weights,) = attention_from_qk(q[None], k[None], table, causal=True)
    assert np.allclose(np.triu(weights[0], 1), 0)
    assert np.allclose(weights[0].sum(axis=-1), 1)


def test_norm_scale_reaches_each_key_ratio_of_the_grid_and_keeps_dot_products():
    from dashboard.projection.joint import EQUAL, RATIOS

    rng = np.random.default_rng(5)
    q, k = _qk(rng, 30)
    assert RATIOS[EQUAL] == 1.0 and RATIOS[0] == 0.2 and RATIOS[-1] == 5.0
    for ratio in RATIOS:
        q2, k2, _ = norm_scale(q, k, ratio)
        got = np.linalg.norm(k2, axis=1).mean() / np.linalg.norm(q2, axis=1).mean()
        assert np.isclose(got, ratio)
        assert np.allclose(q2 @ k2.T, q @ k.T)


def test_most_faithful_readable_stays_inside_the_readable_band():
    from dashboard.projection.joint import RATIOS, READABLE, most_faithful_readable

    rising = np.linspace(1.0, 0.0, len(RATIOS))  # most faithful at the smallest ratio
    assert most_faithful_readable(RATIOS, rising) == READABLE[0]
    peaked = -np.abs(np.arange(len(RATIOS)) - 5.0)  # best at RATIOS[5], inside the band
    assert most_faithful_readable(RATIOS, peaked) == RATIOS[5]
    assert most_faithful_readable(RATIOS, [np.nan] * len(RATIOS)) == 1.0
