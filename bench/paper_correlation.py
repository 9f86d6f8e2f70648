"""The AttentionViz paper's distance–attention correlation against ours, on exported Q/K.

    python -m dashboard extract --model minilm --corpus default --out qk.npz
    python -m bench.paper_correlation qk.npz          # prints the README's table

The paper's analysis code (catherinesyeh/attention-exploration, attention.ipynb): Spearman of the
raw dot product with the *cosine* distance between the query and the centroid-translated key,
per query over every key of its sentence, averaged per sentence, then over sentences. Ours
(analytics/fidelity.rho_full): Euclidean distance after translation and norm scaling, per query,
averaged over queries. Printed in our sign (correlation with −distance: higher is better).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from scipy.stats import rankdata

from dashboard.analytics.fidelity import rho_full
from dashboard.projection.joint import joint_points


def _rows_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman per row of two [rows, n] arrays (every entry used)."""
    rx, ry = rankdata(x, axis=1), rankdata(y, axis=1)
    rx -= rx.mean(1, keepdims=True)
    ry -= ry.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(1) / np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))


def sentence_mean(q, k, spans, cosine: bool) -> float:
    """The notebook's averaging: per query, then per sentence, then over sentences."""
    means = []
    for idx in spans:
        qs, ks = q[idx], k[idx]
        dots = qs @ ks.T  # [pos_q, pos_k]
        qn, kn = np.linalg.norm(qs, axis=1)[:, None], np.linalg.norm(ks, axis=1)[None]
        if cosine:
            distance = 1.0 - dots / (qn * kn)
        else:
            distance = np.sqrt(np.maximum(qn**2 + kn**2 - 2.0 * dots, 0.0))
        means.append(np.nanmean(_rows_spearman(dots, -distance)))
    return float(np.mean(means))


def main(path: str) -> None:
    started = time.perf_counter()
    data = np.load(path, allow_pickle=False)
    queries, keys, sentence = data["queries"], data["keys"], data["sentence"]
    spans = [np.flatnonzero(sentence == s) for s in np.unique(sentence)]
    rows = {name: [] for name in ROWS}
    for layer in range(queries.shape[0]):
        for head in range(queries.shape[1]):
            q, k = queries[layer, head].astype(np.float64), keys[layer, head].astype(np.float64)
            n = len(q)
            translated = joint_points(q, k, translate=True, scale=False)
            rows["notebook"].append(sentence_mean(translated[:n], translated[n:], spans, True))
            for ratio in (0.2, 1.0, 5.0):
                p = joint_points(q, k, True, True, ratio)
                rows[f"cosine {ratio:g}"].append(sentence_mean(p[:n], p[n:], spans, True))
                rows[f"rho_full {ratio:g}"].append(rho_full(p[:n], p[n:], sentence, causal=False))
            p = joint_points(q, k, True, True, 1.0)
            rows["euclid sentence means"].append(sentence_mean(p[:n], p[n:], spans, False))
    print(f"{queries.shape[0] * queries.shape[1]} heads, {len(sentence):,} tokens")
    for name, values in rows.items():
        v = np.array(values)
        print(f"{ROWS[name]:60s} {v.mean():.3f} [{v.min():.3f}, {v.max():.3f}]")
    print(f"{time.perf_counter() - started:.0f} s")


ROWS = {
    "notebook": "notebook: cosine, translated keys, no scaling, sentence means",
    "cosine 0.2": "cosine, key/query norm ratio 0.2, sentence means",
    "cosine 1": "cosine, equal norms, sentence means",
    "cosine 5": "cosine, key/query norm ratio 5, sentence means",
    "euclid sentence means": "Euclidean, equal norms, sentence means",
    "rho_full 0.2": "rho_full (Euclidean, per-query mean), ratio 0.2",
    "rho_full 1": "rho_full, equal norms",
    "rho_full 5": "rho_full, ratio 5",
}

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(
            "usage: python -m bench.paper_correlation QK.npz (from `python -m dashboard extract`)"
        )
    main(sys.argv[1])
