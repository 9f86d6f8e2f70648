"""Head metrics with known answers, on synthetic heads built to have them."""

import numpy as np
import pytest

from dashboard.analytics import fidelity
from dashboard.analytics.metrics import (
    ALL,
    attention,
    attention_metrics,
    levels,
    map_metrics,
    search_spread,
    unfaithful,
)
from dashboard.models.qk import TokenTable
from dashboard.projection.joint import joint_points
from dashboard.projection.methods import Projector


def _table(lengths):
    n = sum(lengths)
    return TokenTable(
        token=np.array(["t"] * n),
        sentence=np.repeat(np.arange(len(lengths)), lengths).astype(np.int32),
        position=np.concatenate([np.arange(k) for k in lengths]).astype(np.int32),
        length=np.repeat(lengths, lengths).astype(np.int32),
        special=np.zeros(n, bool),
    )


@pytest.mark.parametrize("causal", [False, True])
def test_an_exactly_previous_token_head_has_prev_token_mass_one(causal):
    lengths = [7, 12, 5]
    table = _table(lengths)
    n_max = max(lengths)
    # one-hot positions: key j is e_j, query i is e_(i−1) (query 0 is zero): a score gap of
    # 400 / √d makes softmax put all of its weight on the previous token
    k = np.concatenate([np.eye(n_max)[:m] for m in lengths]) * 20.0
    q = np.concatenate([np.vstack([np.zeros(n_max), np.eye(n_max)[: m - 1]]) for m in lengths])
    q *= 20.0
    m = attention_metrics(attention(q, k, table, causal))
    assert m["prev_token_mass"] == pytest.approx(1.0, abs=1e-12)
    assert m["self_mass"] < 0.5 and m["first_token_mass"] < 0.5  # …and nothing else


def test_uniform_attention_has_entropy_log_n():
    n = 9
    table = _table([n, n, n])
    q = np.zeros((3 * n, 4))  # every score equal
    k = np.random.default_rng(0).normal(size=(3 * n, 4))
    m = attention_metrics(attention(q, k, table, causal=False))
    assert m["entropy"] == pytest.approx(np.log(n), abs=1e-12)
    assert m["first_token_mass"] == pytest.approx(1 / n) and m["sparsity"] == 0.0
    causal = attention_metrics(attention(q, k, table, causal=True))  # query i sees i + 1 keys
    assert causal["entropy"] == pytest.approx(np.mean(np.log(np.arange(1, n + 1))), abs=1e-12)


def test_queries_and_keys_in_a_plane_give_rho_map_equal_rho_full_for_pca():
    rng = np.random.default_rng(4)
    table = _table([14, 20, 11])
    n, d = len(table), 12
    basis = np.linalg.qr(rng.normal(size=(d, 2)))[0].T  # [2, d]: a plane through 0 in d dims
    q = rng.normal(size=(n, 2)) @ basis * 3.0
    k = (rng.normal(size=(n, 2)) + 1.5) @ basis
    coords = Projector("pca", 2).fit_transform(joint_points(q, k))
    m = map_metrics(q, k, coords, table, causal=False, translate=True, scale=True, seed=0)
    assert m["rho_map"] == pytest.approx(m["rho_full"], abs=1e-6)
    assert m["trustworthiness"] == pytest.approx(1.0)
    # a head that fills its space: the map loses something, so the test can tell them apart
    q3 = rng.normal(size=(n, d)) * 3.0
    coords3 = Projector("pca", 2).fit_transform(joint_points(q3, k))
    m3 = map_metrics(q3, k, coords3, table, causal=False, translate=True, scale=True, seed=0)
    assert abs(m3["rho_map"] - m3["rho_full"]) > 0.01


def test_map_metrics_gives_every_column_and_a_baseline():
    rng = np.random.default_rng(1)
    table = _table([15, 18])
    q, k = rng.normal(size=(2, len(table), 8))
    coords = Projector("pca", 2).fit_transform(joint_points(q, k))
    m = map_metrics(q, k, coords, table, causal=True, translate=True, scale=True, seed=0)
    assert set(ALL) <= set(m) and {"rho_random", "trustworthiness_random"} <= set(m)
    assert all(np.isfinite(m[name]) for name in ALL)


def test_badge_levels_are_placed_between_the_random_floor_and_the_ceiling():
    assert fidelity.level(0.9, 0.2, 1.0) == "good"
    assert fidelity.level(0.4, 0.2, 1.0) == "fair"
    assert fidelity.level(0.1, 0.2, 1.0) == "poor"
    assert fidelity.level(float("nan"), 0.2, 1.0) == "unknown"
    m = {"rho_map": 0.1, "rho_random": 0.2, "rho_full": 0.8}
    assert levels(m)["map"] == "poor" and unfaithful(m)
    assert not unfaithful({**m, "rho_map": 0.7}) and not unfaithful(None)


def test_search_spread_is_small_for_clustered_hits_and_near_one_for_scattered():
    rng = np.random.default_rng(2)
    xy = rng.uniform(size=(2_000, 2))
    tight = np.zeros(len(xy), bool)
    tight[np.argsort(np.linalg.norm(xy - 0.5, axis=1))[:60]] = True  # the 60 nearest the centre
    scattered = np.zeros(len(xy), bool)
    scattered[rng.choice(len(xy), 60, replace=False)] = True
    assert search_spread(xy, tight) < 0.3
    assert 0.7 < search_spread(xy, scattered) < 1.3
    assert np.isnan(search_spread(xy, np.eye(1, len(xy), 5, dtype=bool)[0]))  # one hit
