"""Every cached metric of a real model's map equals a direct recomputation from its exported
queries and keys (written here with plain numpy/scipy/sklearn loops, not the app's functions):
MiniLM (encoder), SmolLM2 (causal, rotary, grouped-query), DINOv2 (vision)."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.special import softmax
from scipy.stats import entropy, spearmanr
from sklearn.linear_model import LinearRegression
from sklearn.manifold import trustworthiness

from dashboard.analytics.fidelity import TRUST_MAX_POINTS
from dashboard.analytics.metrics import ALL
from dashboard.cache_keys import MapParams
from dashboard.config import Settings
from dashboard.models.corpora import DEFAULT_CORPUS, DEFAULT_IMAGES
from dashboard.models.families import family_for
from dashboard.models.registry import DEFAULT_DECODER, DEFAULT_MODEL, DEFAULT_VISION

pytestmark = pytest.mark.slow


def _direct(q, k, coords, sentence, position, causal, seed):
    """Each metric from its definition, one query at a time."""
    n = len(q)
    c = np.sqrt(np.linalg.norm(k, axis=1).mean() / np.linalg.norm(q, axis=1).mean())
    sq, sk = q * c, k / c  # norm scaling, then key translation
    tk = sk - sk.mean(0) + sq.mean(0)
    cq, ck = coords[:n], coords[n:]
    out = {
        name: [] for name in ("entropy", "first", "prev", "self", "sparse", "full", "map", "topk")
    }
    for i in range(n):
        keys = np.flatnonzero(sentence == sentence[i])
        if causal:
            keys = keys[keys <= i]
        w = softmax(q[i] @ k[keys].T / np.sqrt(q.shape[1]))
        out["entropy"].append(entropy(w))
        out["first"].append(w[0])
        out["self"].append(w[keys == i][0])
        if position[i] > 0:
            out["prev"].append(w[keys == i - 1][0])
        out["sparse"].append(w.max() > 0.5)
        if len(keys) >= 3:
            dots = sq[i] @ tk[keys].T
            out["full"].append(spearmanr(dots, -np.linalg.norm(sq[i] - tk[keys], axis=1))[0])
            out["map"].append(spearmanr(dots, -np.linalg.norm(cq[i] - ck[keys], axis=1))[0])
        if len(keys) > 10:
            near = keys[np.argsort(np.linalg.norm(cq[i] - ck[keys], axis=1), kind="stable")[:10]]
            top = keys[np.argsort(-w, kind="stable")[:2]]
            out["topk"] += [t in near for t in top]
    points = np.concatenate([sq, tk])
    pick = np.arange(2 * n)
    if 2 * n > TRUST_MAX_POINTS:
        pick = np.sort(np.random.default_rng(seed).choice(2 * n, TRUST_MAX_POINTS, replace=False))
    spread = np.sqrt(
        np.concatenate([((sq - sq.mean(0)) ** 2).sum(1), ((sk - sk.mean(0)) ** 2).sum(1)]).mean()
    )
    length = np.array([np.sum(sentence == s) for s in sentence])
    return {
        "entropy": np.mean(out["entropy"]),
        "first_token_mass": np.mean(out["first"]),
        "prev_token_mass": np.mean(out["prev"]),
        "self_mass": np.mean(out["self"]),
        "positional_r2": LinearRegression()
        .fit(cq, position / np.maximum(length - 1, 1))
        .score(cq, position / np.maximum(length - 1, 1)),
        "qk_norm_ratio": np.linalg.norm(q, axis=1).mean() / np.linalg.norm(k, axis=1).mean(),
        "qk_offset": np.linalg.norm(sq.mean(0) - sk.mean(0)) / spread,
        "sparsity": np.mean(out["sparse"]),
        "rho_full": np.nanmean(out["full"]),
        "rho_map": np.nanmean(out["map"]),
        "trustworthiness": trustworthiness(points[pick], coords[pick], n_neighbors=10),
        "topk_recall": np.mean(out["topk"]),
    }


@pytest.mark.parametrize("model_id", [DEFAULT_MODEL, DEFAULT_DECODER, DEFAULT_VISION])
def test_cached_metrics_equal_a_direct_recomputation(model_id, bundled_cache):
    from dashboard import worker_tasks
    from dashboard.catalog import configure

    svc = configure(Settings(cache_dir=bundled_cache, corpus_sentences=6, warm_umap=False))
    if model_id not in svc.registry.models:
        pytest.skip(f"{model_id}'s weight package is not installed")
    spec = svc.registry.get(model_id)
    corpus_id = DEFAULT_IMAGES if spec.modality == "image" else DEFAULT_CORPUS
    subject, corpus = svc.subject(model_id, corpus_id, check=False)
    if spec.modality == "image":  # 3 images keep the loops short
        corpus = replace(corpus, images=corpus.images[:3])
        subject = replace(subject, corpus_digest=corpus.digest)
    worker_tasks.extract_task(subject, corpus)
    table = svc.tokens(subject)
    layer, head = spec.n_layers - 1, spec.n_heads - 1  # the last: under GQA, kv head ≠ head
    params = MapParams("pca", 2, True, True, 0)
    cached = svc.store.load_meta(worker_tasks.metrics_task(subject, layer, head, params))
    exported = svc.store.load(subject.qk_key(layer))[0]
    q = exported["q"][head].astype(np.float64)
    k = exported["k"][head * spec.n_kv_heads // spec.n_heads].astype(np.float64)
    coords = svc.store.load(subject.coords_key(layer, head, params))[0]["coords"]
    causal = family_for(spec.architecture).causal
    direct = _direct(q, k, coords.astype(np.float64), table.sentence, table.position, causal, 0)
    for name in ALL:
        assert cached["metrics"][name] == pytest.approx(direct[name], rel=1e-6, abs=1e-9), name
