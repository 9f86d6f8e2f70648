"""Aligned layouts: turn (rotate or reflect) a head's map onto a reference map of the same points.

A 2D/3D map is only defined up to rotation and reflection (PCA's signs, t-SNE's and UMAP's
random starts), so stepping from head to head, or from PCA to UMAP, can mirror or spin the
picture for no reason. Orthogonal Procrustes finds the rotation/reflection R minimising
‖(X − x̄)R − (Y − ȳ)‖ over the points both maps share (here: every query and key of the corpus,
in the same order), and the map is shown as (X − x̄)R + x̄: distances within it are unchanged.

Runs in the web process where the coordinates are assembled, so it is numpy only: one SVD of a
d×d matrix (d = 2 or 3) per map, microseconds (the same R as scipy.linalg.orthogonal_procrustes,
which a test checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Reference = Literal["none", "head", "pca", "run"]
# the sidebar's choices: no alignment, the previous head of the layer, the head's own PCA map,
# the same head in the run shown before the last change of method, dimensions, options or seed
REFERENCES: dict[str, str] = {
    "none": "off",
    "head": "to the previous head",
    "pca": "to its PCA map",
    "run": "to the run before (last settings change)",
}


def procrustes_rotation(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """[d, d] orthogonal R minimising ‖x_c R − ref_c‖ (both centred); x, ref [points, d]."""
    xc = x - x.mean(axis=0)
    rc = ref - ref.mean(axis=0)
    u, _, vt = np.linalg.svd(xc.T.astype(np.float64) @ rc.astype(np.float64))
    return u @ vt


def align_to(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """x [points, d] turned about its own centroid onto ref [points, d]; same dtype as x."""
    if x.shape != ref.shape or len(x) < 2:
        return x
    centre = x.mean(axis=0)
    turned = (x - centre) @ procrustes_rotation(x, ref) + centre
    return turned.astype(x.dtype)


def align_chain(maps: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
    """Each map aligned onto the previous *aligned* one (missing maps are skipped), so a whole
    run of heads keeps one orientation, not just each neighbouring pair."""
    out: list[np.ndarray | None] = []
    previous: np.ndarray | None = None
    for m in maps:
        if m is None:
            out.append(None)
            continue
        aligned = m if previous is None else align_to(m, previous)
        out.append(aligned)
        previous = aligned
    return out


def carry(raw: np.ndarray, aligned: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """extra [n, d] (e.g. a sentence placed into the map) turned the way raw became aligned."""
    if len(raw) < 2:
        return extra
    turn = procrustes_rotation(raw, aligned)  # exact: aligned is raw turned about its centroid
    return ((extra - raw.mean(axis=0)) @ turn + aligned.mean(axis=0)).astype(extra.dtype)
