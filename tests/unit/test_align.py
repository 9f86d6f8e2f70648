"""Aligned layouts (orthogonal Procrustes) and deterministic PCA signs."""

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group

from dashboard.projection.align import align_chain, align_to, procrustes_rotation
from dashboard.projection.methods import Projector, fix_signs


def _map(n=400, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * np.arange(1, d + 1) + rng.normal(size=d)


@pytest.mark.parametrize("d", [2, 3])
def test_a_rotated_and_reflected_copy_aligns_back_exactly(d):
    ref = _map(d=d)
    turn = ortho_group.rvs(d, random_state=1)  # a random rotation …
    if np.linalg.det(turn) > 0:
        turn[:, 0] *= -1  # … with a reflection
    assert np.linalg.det(turn) < 0
    copy = (ref - ref.mean(0)) @ turn + np.full(d, 5.0)  # moved elsewhere as well
    aligned = align_to(copy, ref)
    # the picture matches the reference up to the copy's own centroid
    np.testing.assert_allclose(aligned - aligned.mean(0), ref - ref.mean(0), atol=1e-9)
    np.testing.assert_allclose(aligned.mean(0), copy.mean(0), atol=1e-9)


def test_rotation_equals_scipys_orthogonal_procrustes():
    x, ref = _map(seed=2, d=3), _map(seed=3, d=3)
    expected, _ = orthogonal_procrustes(x - x.mean(0), ref - ref.mean(0))
    np.testing.assert_allclose(procrustes_rotation(x, ref), expected, atol=1e-10)


def test_alignment_keeps_distances_and_dtype():
    x = _map(seed=4).astype(np.float32)
    aligned = align_to(x, _map(seed=5))
    assert aligned.dtype == np.float32
    d_before = np.linalg.norm(x[:, None] - x[None], axis=-1)
    d_after = np.linalg.norm(aligned[:, None] - aligned[None], axis=-1)
    np.testing.assert_allclose(d_after, d_before, atol=1e-4)


def test_a_chain_keeps_one_orientation_and_skips_missing_maps():
    base = _map(seed=6)
    flips = [np.diag([1.0, 1.0]), np.diag([-1.0, 1.0]), np.diag([1.0, -1.0])]
    maps = [base @ f for f in flips]
    chained = align_chain([maps[0], None, maps[1], maps[2]])
    assert chained[1] is None
    for m in (chained[2], chained[3]):
        np.testing.assert_allclose(m - m.mean(0), base - base.mean(0), atol=1e-9)


def test_shapes_that_do_not_match_are_left_as_they_are():
    x = _map()
    assert align_to(x, x[:10]) is x


@pytest.mark.parametrize("dims", [2, 3])
def test_pca_signs_are_the_same_across_runs_and_sign_flips_of_the_input(dims):
    rng = np.random.default_rng(7)
    x = rng.gamma(2.0, size=(500, 16)) @ rng.normal(size=(16, 16))  # skewed, as real q/k are
    first = Projector("pca", dims).fit_transform(x)
    assert np.array_equal(first, Projector("pca", dims).fit_transform(x))
    flipped_columns = x * np.where(np.arange(16) % 3 == 0, -1.0, 1.0)
    rotated = x @ ortho_group.rvs(16, random_state=8)
    for other in (-x, flipped_columns, rotated):
        np.testing.assert_allclose(Projector("pca", dims).fit_transform(other), first, atol=1e-3)
    # the rule itself: every component's scores have positive skew
    assert (np.sum(first.astype(np.float64) ** 3, axis=0) > 0).all()


def test_symmetric_scores_fall_back_to_the_largest_score_positive():
    scores = np.array([[-3.0, 1.0], [3.0, -2.0], [1.0, 2.0], [-1.0, -1.0]])
    fixed = fix_signs(scores)
    assert fixed[np.argmax(np.abs(fixed[:, 0])), 0] > 0  # skew 0 in column 0
    assert np.array_equal(np.abs(fixed), np.abs(scores))
