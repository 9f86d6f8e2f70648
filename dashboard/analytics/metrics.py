"""Per-head metrics on the corpus, and the fidelity of one map: one JSON-able dict per map.

Attention is the app's single softmax (models.qk.softmax_attention), per sentence (image), causal
where the model is; every mean is over queries. Definitions (README "Head metrics"):
- entropy: −Σ a·ln a of each query's attention (nats);
- first_token_mass / prev_token_mass / self_mass: attention to position 0 / i−1 / i
  (prev_token_mass over the queries that have a previous token);
- positional_r2: R² of a least-squares fit (with intercept) of the normalised position on the
  map's query coordinates;
- qk_norm_ratio: mean ‖q‖ / mean ‖k‖ of the raw vectors;
- qk_offset: ‖mean q − mean k‖ over the spread (RMS distance of each point to its own centroid),
  with the map's norm scaling but before key translation;
- sparsity: share of queries whose strongest key takes more than half the attention.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dashboard.analytics import fidelity
from dashboard.models.qk import TokenTable, attention_from_qk

HEAD_METRICS = (
    "entropy",
    "first_token_mass",
    "prev_token_mass",
    "self_mass",
    "positional_r2",
    "qk_norm_ratio",
    "qk_offset",
    "sparsity",
)
FIDELITY = ("rho_full", "rho_map", "trustworthiness", "topk_recall")
BASELINE = ("rho_random", "trustworthiness_random", "topk_recall_random")
ALL = HEAD_METRICS + FIDELITY  # the CLI's columns after layer, head
# one sentence per number, for tooltips and the README
EXPLAIN = {
    "entropy": "spread of each query's attention (nats; 0 = one key)",
    "first_token_mass": "attention to the first token",
    "prev_token_mass": "attention to the previous token",
    "self_mass": "attention to the query's own token",
    "positional_r2": "how well the map's query positions predict the token's position (R²)",
    "qk_norm_ratio": "mean query norm over mean key norm",
    "qk_offset": "distance between query and key centroids over their spread",
    "sparsity": "share of queries whose strongest key takes over half the attention",
    "rho_full": "ceiling: Spearman(q·k, −distance) per query in the head's own space",
    "rho_map": "the same on the map",
    "trustworthiness": "are the map's 10 nearest neighbours near in the head's space? (1 = all)",
    "topk_recall": "share of each query's 2 most-attended keys among its 10 nearest on the map",
}


def attention(q: np.ndarray, k: np.ndarray, table: TokenTable, causal: bool) -> list[np.ndarray]:
    """Per sentence, [pos_q, pos_k] attention weights of one head (q, k [pos, d], raw)."""
    return [w[0] for w in attention_from_qk(q[None], k[None], table, causal)]


def attention_metrics(weights: list[np.ndarray]) -> dict[str, float]:
    """entropy, first/prev/self mass and sparsity from per-sentence weights [pos_q, pos_k]."""
    entropy, first, prev, own, strong = [], [], [], [], []
    for w in weights:
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy.append(-np.where(w > 0, w * np.log(w), 0.0).sum(axis=1))
        first.append(w[:, 0])
        prev.append(np.diagonal(w, offset=-1))  # query i → key i−1, for i ≥ 1
        own.append(np.diagonal(w))
        strong.append(w.max(axis=1) > 0.5)
    mean = lambda parts: float(np.concatenate(parts).mean()) if parts else float("nan")  # noqa: E731
    return {
        "entropy": mean(entropy),
        "first_token_mass": mean(first),
        "prev_token_mass": mean(prev) if sum(len(p) for p in prev) else float("nan"),
        "self_mass": mean(own),
        "sparsity": mean(strong),
    }


def positional_r2(coords_q: np.ndarray, position: np.ndarray) -> float:
    """R² of position ≈ a + coords_q·b (least squares); position: normalised, [pos]."""
    x = np.column_stack([np.ones(len(coords_q)), np.asarray(coords_q, np.float64)])
    y = np.asarray(position, np.float64)
    fit, *_ = np.linalg.lstsq(x, y, rcond=None)
    total = float(((y - y.mean()) ** 2).sum())
    return float(1.0 - ((y - x @ fit) ** 2).sum() / total) if total > 0 else float("nan")


def geometry_metrics(
    q: np.ndarray, k: np.ndarray, scale: bool, key_ratio: float = 1.0
) -> dict[str, float]:
    """qk_norm_ratio (raw vectors) and qk_offset (norm-scaled as the map, before translation)."""
    q, k = np.asarray(q, np.float64), np.asarray(k, np.float64)
    ratio = float(np.linalg.norm(q, axis=1).mean() / np.linalg.norm(k, axis=1).mean())
    sq, sk = fidelity.head_space(q, k, translate=False, scale=scale, key_ratio=key_ratio)
    cq, ck = sq.mean(axis=0), sk.mean(axis=0)
    spread = np.sqrt(
        np.concatenate([((sq - cq) ** 2).sum(axis=1), ((sk - ck) ** 2).sum(axis=1)]).mean()
    )
    offset = float(np.linalg.norm(cq - ck) / spread) if spread > 0 else float("nan")
    return {"qk_norm_ratio": ratio, "qk_offset": offset}


def map_metrics(
    q: np.ndarray,
    k: np.ndarray,
    coords: np.ndarray,
    table: TokenTable,
    *,
    causal: bool,
    translate: bool,
    scale: bool,
    seed: int,
    key_ratio: float = 1.0,
) -> dict[str, float]:
    """Every head metric, fidelity number and baseline of one head's map.

    q, k [pos, d]: the head's raw queries and the keys it scores against; coords [2·pos, dims]:
    its map (queries then keys). Returns a flat {name: float} (NaN where undefined)."""
    n = len(q)
    weights = attention(q, k, table, causal)
    sq, sk = fidelity.head_space(q, k, translate=translate, scale=scale, key_ratio=key_ratio)
    points = np.concatenate([sq, sk])
    coords = np.asarray(coords, np.float64)
    random = fidelity.random_projection(points, coords.shape[1], seed)
    sentence_of = table.sentence

    # the head's space, its map and the random baseline, each split into (queries, keys): one
    # ranking of q·k per sentence and one of the head's-space distances serve them all
    rho_full, rho_map, rho_random = fidelity.mean_rhos(
        [(sq, sk), (coords[:n], coords[n:]), (random[:n], random[n:])],
        sq,
        sk,
        sentence_of,
        causal,
    )
    trust, trust_random = fidelity.trustworthiness_of_maps(points, [coords, random], seed)
    return {
        **attention_metrics(weights),
        "positional_r2": positional_r2(coords[:n], table.normalised_position),
        **geometry_metrics(q, k, scale, key_ratio),
        "rho_full": rho_full,
        "rho_map": rho_map,
        "trustworthiness": trust,
        "topk_recall": fidelity.topk_recall(coords[:n], coords[n:], weights, causal),
        "rho_random": rho_random,
        "trustworthiness_random": trust_random,
        "topk_recall_random": fidelity.topk_recall(random[:n], random[n:], weights, causal),
    }


def levels(m: dict[str, Any]) -> dict[str, str]:
    """Each fidelity number's badge level against its random-projection floor (fidelity.level);
    "map" is the headline: rho_map's."""
    nan = float("nan")
    get = lambda name: float(m.get(name, nan) if m.get(name) is not None else nan)  # noqa: E731
    out = {
        "rho_map": fidelity.level(get("rho_map"), get("rho_random"), get("rho_full")),
        "trustworthiness": fidelity.level(
            get("trustworthiness"), get("trustworthiness_random"), 1.0
        ),
        "topk_recall": fidelity.level(get("topk_recall"), get("topk_recall_random"), 1.0),
    }
    out["map"] = out["rho_map"]
    return out


def unfaithful(m: dict[str, Any] | None) -> bool:
    """The matrix's "dim unfaithful maps": rho_map no better than a random projection's."""
    return m is not None and levels(m)["map"] == "poor"


def search_spread(coords_q: np.ndarray, hits: np.ndarray, seed: int = 0, draws: int = 8) -> float:
    """How tightly a search's hits sit on the map: the hits' mean distance to their nearest other
    hit, over the same for equally many tokens drawn at random (seeded, `draws` draws averaged).
    < 1: the hits cluster (the paper's semantic heads); ≈ 1: scattered like any tokens (the
    positional ones). coords_q [pos, dims]: the map's query points; hits [pos] bool. NaN with
    fewer than 2 hits or no other tokens to draw."""
    from scipy.spatial import cKDTree

    hit = np.flatnonzero(hits)
    n = len(coords_q)
    if len(hit) < 2 or len(hit) >= n:
        return float("nan")
    xy = np.asarray(coords_q, np.float64)

    def mean_nn(index: np.ndarray) -> float:
        distance, _ = cKDTree(xy[index]).query(xy[index], k=2)
        return float(distance[:, 1].mean())

    rng = np.random.default_rng(seed)
    chance = np.mean([mean_nn(rng.choice(n, len(hit), replace=False)) for _ in range(draws)])
    return mean_nn(hit) / chance if chance > 0 else float("nan")
