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
    sentence_of = np.asarray(sentence_of)
    out = np.full(len(sentence_of), np.nan)
    for sentence in np.unique(sentence_of):
        idx = np.flatnonzero(sentence_of == sentence)  # corpus order = position order
        if len(idx) < MIN_KEYS:
            continue
        qs, ks = np.asarray(q, np.float64)[idx], np.asarray(k, np.float64)[idx]
        dots = qs @ ks.T  # [pos_q, pos_k]
        pq, pk = np.asarray(points_q, np.float64)[idx], np.asarray(points_k, np.float64)[idx]
        near = -np.sqrt(np.maximum(_sq_dist(pq, pk), 0.0))  # [pos_q, pos_k]
        valid = (
            np.tril(np.ones((len(idx),) * 2, bool)) if causal else np.ones((len(idx),) * 2, bool)
        )
        out[idx] = _row_spearman(dots, near, valid)
    return out


def _mean_rho(points_q, points_k, q, k, sentence_of, causal) -> float:
    rho = per_query_rho(points_q, points_k, q, k, sentence_of, causal)
    return float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[len(a), len(b)] squared Euclidean distances."""
    return (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T


def _row_spearman(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Spearman per row over the entries where `valid`; NaN for rows with < MIN_KEYS of them.

    Masked entries are set to +inf before ranking: they take the top ranks, so the valid
    entries keep exactly the (tie-averaged) ranks they have among themselves."""
    rx = rankdata(np.where(valid, x, np.inf), axis=1)
    ry = rankdata(np.where(valid, y, np.inf), axis=1)
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
