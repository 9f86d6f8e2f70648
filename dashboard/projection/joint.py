"""Puts one head's queries and keys into one point set, as AttentionViz does.

Key translation shifts every key by the same vector so the key centroid meets the query
centroid: for a query q, q·(k + t) = q·k + q·t adds the same constant to all of q's scores,
so softmax attention within a sentence is unchanged. Norm scaling multiplies queries by c
and divides keys by c, which leaves every dot product unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def translate_keys(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """k [pos, d] shifted so mean(k) == mean(q)."""
    return k - k.mean(axis=0) + q.mean(axis=0)


def norm_scale(q: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(q·c, k/c, c) with c = sqrt(mean‖k‖ / mean‖q‖): both then have the same mean norm."""
    q_norm = float(np.linalg.norm(q, axis=1).mean())
    k_norm = float(np.linalg.norm(k, axis=1).mean())
    if q_norm == 0.0 or k_norm == 0.0:
        return q, k, 1.0
    c = float(np.sqrt(k_norm / q_norm))
    return q * c, k / c, c


def joint_points(
    q: np.ndarray, k: np.ndarray, translate: bool = True, scale: bool = True
) -> np.ndarray:
    """[2·pos, d_head]: queries first, then keys (the order every figure relies on)."""
    return JointFit.fit(q, k, translate, scale).apply(q, k)


@dataclass(frozen=True)
class JointFit:
    """The corpus's scale c and key shift t: new queries and keys (a sentence dropped into a
    map) are placed with the corpus's own, not their own."""

    c: float
    shift: np.ndarray  # [d_head], zero without key translation

    @classmethod
    def fit(cls, q: np.ndarray, k: np.ndarray, translate: bool, scale: bool) -> JointFit:
        q = q.astype(np.float64)
        k = k.astype(np.float64)
        c = norm_scale(q, k)[2] if scale else 1.0
        shift = (q * c).mean(axis=0) - (k / c).mean(axis=0) if translate else np.zeros(q.shape[1])
        return cls(c, shift)

    def apply(self, q: np.ndarray, k: np.ndarray) -> np.ndarray:
        """[2·pos, d_head]: q·c then k/c + t."""
        q = q.astype(np.float64)
        k = k.astype(np.float64)
        return np.concatenate([q * self.c, k / self.c + self.shift])
