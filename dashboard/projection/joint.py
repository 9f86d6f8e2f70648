"""Puts one head's queries and keys into one point set, as AttentionViz does.

Key translation shifts every key by the same vector so the key centroid meets the query
centroid: for a query q, q·(k + t) = q·k + q·t adds the same constant to all of q's scores,
so softmax attention within a sentence is unchanged. Norm scaling multiplies queries by c
and divides keys by c, which leaves every dot product unchanged.

The norm scale is a trade-off, not a constant: c is chosen so that mean‖k‖ / mean‖q‖ becomes
`key_ratio` (1 = equal norms, the default). Small ratios shrink the keys, and then a query's
nearest keys are the ones it scores highest (distance follows q·k: a faithful map) but the keys
crowd into a small blob (an unreadable one). RATIOS is the grid the app offers and measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATIOS: tuple[float, ...] = tuple(float(r) for r in np.round(np.geomspace(0.2, 5.0, 9), 4))
EQUAL = RATIOS.index(1.0)  # the equal-norm value, in the middle of the grid
# "readable": neither cloud's mean norm under ~45 % of the other's (ratios 0.447…2.236); outside
# it one role shrinks to a blob. A convention, stated in the README, not a measurement.
READABLE = (RATIOS[EQUAL - 2], RATIOS[EQUAL + 2])


def most_faithful_readable(ratios, rho) -> float:
    """The readable ratio with the highest rho_full (equal norms when none is finite)."""
    best, best_rho = 1.0, -np.inf
    for ratio, value in zip(ratios, rho, strict=True):
        if READABLE[0] <= ratio <= READABLE[1] and np.isfinite(value) and value > best_rho:
            best, best_rho = float(ratio), float(value)
    return best


def translate_keys(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """k [pos, d] shifted so mean(k) == mean(q)."""
    return k - k.mean(axis=0) + q.mean(axis=0)


def norm_scale(
    q: np.ndarray, k: np.ndarray, key_ratio: float = 1.0
) -> tuple[np.ndarray, np.ndarray, float]:
    """(q·c, k/c, c) with c = sqrt(mean‖k‖ / (mean‖q‖ · key_ratio)): afterwards
    mean‖k‖ / mean‖q‖ = key_ratio (1: both have the same mean norm)."""
    q_norm = float(np.linalg.norm(q, axis=1).mean())
    k_norm = float(np.linalg.norm(k, axis=1).mean())
    if q_norm == 0.0 or k_norm == 0.0:
        return q, k, 1.0
    c = float(np.sqrt(k_norm / (q_norm * key_ratio)))
    return q * c, k / c, c


def joint_points(
    q: np.ndarray,
    k: np.ndarray,
    translate: bool = True,
    scale: bool = True,
    key_ratio: float = 1.0,
) -> np.ndarray:
    """[2·pos, d_head]: queries first, then keys (the order every figure relies on)."""
    return JointFit.fit(q, k, translate, scale, key_ratio).apply(q, k)


@dataclass(frozen=True)
class JointFit:
    """The corpus's scale c and key shift t: new queries and keys (a sentence dropped into a
    map) are placed with the corpus's own, not their own."""

    c: float
    shift: np.ndarray  # [d_head], zero without key translation

    @classmethod
    def fit(
        cls, q: np.ndarray, k: np.ndarray, translate: bool, scale: bool, key_ratio: float = 1.0
    ) -> JointFit:
        q = q.astype(np.float64)
        k = k.astype(np.float64)
        c = norm_scale(q, k, key_ratio)[2] if scale else 1.0
        shift = (q * c).mean(axis=0) - (k / c).mean(axis=0) if translate else np.zeros(q.shape[1])
        return cls(c, shift)

    def apply(self, q: np.ndarray, k: np.ndarray) -> np.ndarray:
        """[2·pos, d_head]: q·c then k/c + t."""
        q = q.astype(np.float64)
        k = k.astype(np.float64)
        return np.concatenate([q * self.c, k / self.c + self.shift])
