"""How alike two heads' attention patterns are, and a 2D map of every head of a model by it.

The measure: the **Jensen–Shannon distance between two heads' attention distributions, averaged
over queries** — for each query of the corpus, each head gives a distribution over the keys of
the query's sentence (causal where the model is); JS distance (base 2, so in [0, 1]) between the
two heads' distributions for that query; the mean over queries.

Why this and not linear CKA of the heads' queries/keys: it compares what a head *does* (where it
puts its attention), which is what a user means by "similar heads", and it is blind to what does
not change attention — any rotation of q and k together, key translation, norm scaling, the
q/k basis a head happens to use — while CKA of Q (or K) alone misses half of the score q·k and
calls heads with the same queries but different keys alike. It is a true metric (the mean of
per-query JS distances, each a metric), so MDS on it is well posed; identical heads are 0 apart,
heads with disjoint attention 1 apart. Cost: one log per attention weight per pair of heads, so
the queries are sampled evenly across the corpus under a budget of attention weights per head
(recorded with the result).
"""

from __future__ import annotations

import numpy as np

from dashboard.models.qk import TokenTable, softmax_attention

MEASURE = "jensen-shannon distance, base 2, mean over queries"
ENTRY_BUDGET = 40_000  # attention weights per head entering the distances (a sample of queries)
PAIR_WORK = 4e8  # pairs × weights: above it the budget shrinks (a model with many heads)


def sample_queries(table: TokenTable, causal: bool, budget: int) -> np.ndarray:
    """[pos] bool: every s-th query of the corpus (s ≥ 1 the smallest stride whose queries'
    rows hold at most `budget` weights), so every part of the corpus is represented."""
    row = (table.position + 1) if causal else table.length  # weights in each query's row
    total = int(row.sum())
    stride = max(1, int(np.ceil(total / max(budget, 1))))
    while stride < len(row) and int(row[::stride].sum()) > budget:
        stride += 1
    chosen = np.zeros(len(table), dtype=bool)
    chosen[::stride] = True
    return chosen


def attention_rows(
    q: np.ndarray, k: np.ndarray, table: TokenTable, causal: bool, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(weights [head, entries] float64, row_starts [rows]): the chosen queries' attention rows
    over the keys of their sentence (causal: keys up to the query), concatenated row by row.
    q, k [head, pos, d] (keys already expanded to the query heads)."""
    pieces, lengths = [], []
    for span in table.sentence_slices():
        rows = np.flatnonzero(chosen[span])
        if len(rows) == 0:
            continue
        weights = softmax_attention(q[:, span], k[:, span], causal)  # [head, n_q, n_k]
        for r in rows:
            width = r + 1 if causal else weights.shape[-1]
            pieces.append(weights[:, r, :width])
            lengths.append(width)
    flat = np.concatenate(pieces, axis=1)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return flat, starts


def _xlogx_rows(w: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Σ w·log₂w over each row: [..., entries] → [..., rows] (0·log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, w * np.log2(np.where(w > 0, w, 1.0)), 0.0)
    return np.add.reduceat(terms, starts, axis=-1)


def js_distances(weights: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """[head, head] mean over rows (queries) of the JS distance between two heads' rows.

    JSD(p, q) = ½Σp log p + ½Σq log q − Σm log m with m = (p + q)/2, so only the m term is
    computed per pair; base 2 keeps each divergence in [0, 1]."""
    n = len(weights)
    own = _xlogx_rows(weights, starts)  # [head, rows]
    distances = np.zeros((n, n))
    for a in range(n - 1):
        m = 0.5 * (weights[a] + weights[a + 1 :])  # [others, entries]
        jsd = 0.5 * (own[a] + own[a + 1 :]) - _xlogx_rows(m, starts)
        d = np.sqrt(np.clip(jsd, 0.0, 1.0)).mean(axis=1)
        distances[a, a + 1 :] = d
        distances[a + 1 :, a] = d
    return distances


def head_distances(
    layers: list[tuple[np.ndarray, np.ndarray]],
    table: TokenTable,
    causal: bool,
    budget: int = ENTRY_BUDGET,
) -> tuple[np.ndarray, dict]:
    """[layer·head, layer·head] JS distances between every head of the model (layer-major order),
    from each layer's (q, k), both [head, pos, d]; and what was sampled."""
    n_heads = sum(q.shape[0] for q, _ in layers)
    pairs = n_heads * (n_heads - 1) / 2
    budget = int(min(budget, max(2_000, PAIR_WORK / max(pairs, 1))))
    chosen = sample_queries(table, causal, budget)
    rows = [attention_rows(q, k, table, causal, chosen) for q, k in layers]
    weights = np.concatenate([w for w, _ in rows])
    starts = rows[0][1]
    info = {"n_queries": int(chosen.sum()), "n_weights": int(weights.shape[1]), "budget": budget}
    return js_distances(weights, starts), info


def embed(distances: np.ndarray, seed: int) -> np.ndarray:
    """[n, n] distances → [n, 2] metric MDS (SMACOF from classical MDS, seeded), with PCA-like
    signs fixed (projection.methods.fix_signs) so the picture does not mirror between runs."""
    from sklearn.manifold import MDS

    from dashboard.projection.methods import fix_signs

    if len(distances) < 3:
        return np.zeros((len(distances), 2), dtype=np.float32)
    mds = MDS(
        2,
        metric_mds=True,
        metric="precomputed",
        init="classical_mds",
        random_state=seed,
        n_jobs=1,
    )
    xy = mds.fit_transform(distances)
    xy = xy - xy.mean(axis=0)
    _, _, vt = np.linalg.svd(xy, full_matrices=False)  # principal axes: x the longest
    return fix_signs(xy @ vt.T).astype(np.float32)


def most_similar(distances: np.ndarray, index: int, n: int = 5) -> list[tuple[int, float]]:
    """The n heads nearest to head `index` (itself excluded): [(index, distance)], nearest first."""
    order = [int(i) for i in np.argsort(distances[index], kind="stable") if i != index]
    return [(i, float(distances[index, i])) for i in order[:n]]
