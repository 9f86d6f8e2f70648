"""How far a head's map can be trusted: does nearness in the picture mean attention?

Sign convention: ρ is the Spearman correlation of q·k with −distance(q, k), so 1 is best (the
AttentionViz paper correlates q·k with +distance, so its −0.938 is our +0.938).

`rho_full` measures it in the head's own space (after the map's key translation and norm
scaling): the ceiling any map of those points can reach. `rho_map` measures it on the map.
Both: per query, over the keys of its own sentence (causal models: keys at positions ≤ the
query's), averaged over queries with at least 3 keys.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from dashboard.projection.joint import joint_points

MIN_KEYS = 3  # a rank correlation over fewer keys says nothing


def rho_full(q: np.ndarray, k: np.ndarray, sentence_of: np.ndarray, *, causal: bool) -> float:
    """Mean per-query Spearman(q·k, −‖q−k‖) in the head's space. q, k [pos, d]; sentence_of [pos]."""
    return _mean_rho(q, k, q, k, sentence_of, causal)


def rho_map(
    coords_q: np.ndarray,
    coords_k: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    sentence_of: np.ndarray,
    *,
    causal: bool,
) -> float:
    """As rho_full, with distances from the map: coords_q, coords_k [pos, dims]; q·k from q, k."""
    return _mean_rho(coords_q, coords_k, q, k, sentence_of, causal)


def per_query_rho(
    points_q: np.ndarray,
    points_k: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    sentence_of: np.ndarray,
    causal: bool,
) -> np.ndarray:
    """[pos] Spearman(q·k, −distance between points) per query; NaN where undefined (fewer than
    MIN_KEYS keys, or constant scores/distances)."""
    return per_query_rhos([(points_q, points_k)], q, k, sentence_of, causal)[0]


def per_query_rhos(
    point_sets: list[tuple[np.ndarray, np.ndarray]],
    q: np.ndarray,
    k: np.ndarray,
    sentence_of: np.ndarray,
    causal: bool,
) -> list[np.ndarray]:
    """per_query_rho of several (points_q, points_k) against the same q·k (the head's space, its
    map, the random baseline): the scores are ranked once per sentence, not once per set."""
    sentence_of = np.asarray(sentence_of)
    q, k = np.asarray(q, np.float64), np.asarray(k, np.float64)  # once, not per sentence
    sets = [(np.asarray(a, np.float64), np.asarray(b, np.float64)) for a, b in point_sets]
    out = [np.full(len(sentence_of), np.nan) for _ in sets]
    order = np.argsort(sentence_of, kind="stable")  # each sentence's tokens, in corpus order
    bounds = np.flatnonzero(np.diff(sentence_of[order])) + 1
    for idx in np.split(order, bounds):
        if len(idx) < MIN_KEYS:
            continue
        valid = np.ones((len(idx),) * 2, bool)
        if causal:
            valid = np.tril(valid)
        score_ranks = _ranks(q[idx] @ k[idx].T, valid)  # [pos_q, pos_k]
        for rho, (points_q, points_k) in zip(out, sets, strict=True):
            near = -np.sqrt(np.maximum(_sq_dist(points_q[idx], points_k[idx]), 0.0))
            rho[idx] = _rank_correlation(score_ranks, _ranks(near, valid), valid)
    return out


def mean_rhos(
    point_sets: list[tuple[np.ndarray, np.ndarray]],
    q: np.ndarray,
    k: np.ndarray,
    sentence_of: np.ndarray,
    causal: bool,
) -> list[float]:
    """The mean over queries of each per_query_rhos (NaN when no query has one)."""
    return [
        float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")
        for rho in per_query_rhos(point_sets, q, k, sentence_of, causal)
    ]


def _mean_rho(points_q, points_k, q, k, sentence_of, causal) -> float:
    return mean_rhos([(points_q, points_k)], q, k, sentence_of, causal)[0]


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[len(a), len(b)] squared Euclidean distances."""
    return (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T


def _ranks(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Tie-averaged ranks per row of the entries where `valid`. Masked entries are set to +inf
    before ranking: they take the top ranks, so the valid entries keep exactly the ranks they
    have among themselves."""
    return rankdata(np.where(valid, x, np.inf), axis=1)


def _row_spearman(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Spearman per row over the entries where `valid`; NaN for rows with < MIN_KEYS of them."""
    return _rank_correlation(_ranks(x, valid), _ranks(y, valid), valid)


def _rank_correlation(rx: np.ndarray, ry: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pearson per row of two rank arrays over the entries where `valid` (= Spearman)."""
    count = valid.sum(1)
    w = valid.astype(np.float64)
    mx = (rx * w).sum(1) / np.maximum(count, 1)
    my = (ry * w).sum(1) / np.maximum(count, 1)
    dx = (rx - mx[:, None]) * w
    dy = (ry - my[:, None]) * w
    num = (dx * dy).sum(1)
    den = np.sqrt((dx * dx).sum(1) * (dy * dy).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = num / den
    rho[(count < MIN_KEYS) | (den == 0)] = np.nan
    return rho


TRUST_NEIGHBOURS = 10  # trustworthiness at 10 neighbours, as the issue asks
TRUST_MAX_POINTS = 2_000  # sklearn's trustworthiness is O(points²) in memory: a seeded sample
TOP_ATTENDED = 2  # topk_recall: a query's two most-attended keys …
NEAR_KEYS = 10  # … among its 10 nearest keys on the map


def head_space(
    q: np.ndarray, k: np.ndarray, *, translate: bool, scale: bool, key_ratio: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """One head's (q, k) [pos, d] as its map sees them: the map's own joint_points, split."""
    points = joint_points(q, k, translate, scale, key_ratio)
    return points[: len(q)], points[len(q) :]


def trust_sample(n_points: int, seed: int) -> np.ndarray:
    """Indices of the points trustworthiness is measured on: all, or a seeded sample."""
    if n_points <= TRUST_MAX_POINTS:
        return np.arange(n_points)
    return np.sort(np.random.default_rng(seed).choice(n_points, TRUST_MAX_POINTS, replace=False))


def trustworthiness(points: np.ndarray, coords: np.ndarray, seed: int = 0) -> float:
    """scikit-learn's trustworthiness (10 neighbours, Euclidean) of the map `coords` against the
    head's space `points` (both [points, ·], queries then keys), on trust_sample's points."""
    return trustworthiness_of_maps(points, [coords], seed)[0]


def trustworthiness_of_maps(
    points: np.ndarray, maps: list[np.ndarray], seed: int = 0
) -> list[float]:
    """trustworthiness of several maps of the same points: scikit-learn's computation step by
    step (sklearn.manifold.trustworthiness), with the head's-space distances and their ranking
    (its costly part, O(points²)) done once for all maps."""
    from sklearn.metrics import pairwise_distances
    from sklearn.neighbors import NearestNeighbors

    pick = trust_sample(len(points), seed)
    n, k = len(pick), TRUST_NEIGHBOURS
    dist = pairwise_distances(points[pick], metric="euclidean")
    np.fill_diagonal(dist, np.inf)  # a point is not its own neighbour
    rank = np.zeros((n, n), dtype=np.int64)  # rank[i, j]: j's place among i's neighbours, 1 first
    rows = np.arange(n)[:, None]
    rank[rows, np.argsort(dist, axis=1)] = np.arange(1, n + 1)
    found = []
    for coords in maps:
        near = NearestNeighbors(n_neighbors=k).fit(coords[pick]).kneighbors(return_distance=False)
        excess = rank[rows, near] - k  # how far beyond the k nearest each map neighbour lies
        penalty = excess[excess > 0].sum()
        found.append(float(1.0 - penalty * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))))
    return found


def topk_recall(
    coords_q: np.ndarray, coords_k: np.ndarray, weights: list[np.ndarray], causal: bool
) -> float:
    """Share of each query's TOP_ATTENDED most-attended keys that are among its NEAR_KEYS nearest
    keys on the map, both over the keys it can attend to (its sentence's; causal: up to itself),
    averaged over queries with more than NEAR_KEYS such keys (with fewer, the answer is always
    yes). coords_q, coords_k [pos, dims]; weights: per sentence [pos_q, pos_k], corpus order."""
    found, start = [], 0
    for w in weights:
        n = len(w)
        cq = np.asarray(coords_q[start : start + n], np.float64)
        ck = np.asarray(coords_k[start : start + n], np.float64)
        start += n
        n_keys = np.arange(1, n + 1) if causal else np.full(n, n)
        use = n_keys > NEAR_KEYS
        if not use.any():
            continue
        far = _sq_dist(cq, ck)
        if causal:
            far = np.where(np.tril(np.ones((n, n), bool)), far, np.inf)
        nearest = np.argsort(far, axis=1, kind="stable")[use, :NEAR_KEYS]  # [query, near]
        attended = np.argsort(-w, axis=1, kind="stable")[use, :TOP_ATTENDED]  # [query, top]
        found.append((nearest[:, :, None] == attended[:, None, :]).any(axis=1).ravel())
    return float(np.concatenate(found).mean()) if found else float("nan")


def random_projection(points: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """The baseline map: the head's points times a seeded Gaussian [d, dims] matrix."""
    rng = np.random.default_rng(seed)
    return points @ rng.normal(size=(points.shape[1], dims))


# Badge colour. Each fidelity number m is placed between a floor and a ceiling: the floor is the
# same number for a random linear projection of the same points to the same dimensions (computed
# the same way, seeded), the ceiling what a perfect map would get (rho_full for rho_map; 1 for
# trustworthiness and topk_recall). score = (m − floor) / (ceiling − floor):
#   "good" ≥ 0.5 (at least half the way from chance-like to perfect),
#   "fair" > 0 (better than the random projection), "poor" otherwise (no better than it).
GOOD_SHARE = 0.5


def level(value: float, floor: float, ceiling: float) -> str:
    """'good' | 'fair' | 'poor' | 'unknown' (see the comment above)."""
    if not all(np.isfinite([value, floor, ceiling])):
        return "unknown"
    if ceiling <= floor:  # nothing to gain over chance: judge by beating it at all
        return "fair" if value > floor else "poor"
    score = (value - floor) / (ceiling - floor)
    return "good" if score >= GOOD_SHARE else "fair" if score > 0 else "poor"
