"""How the dot-product/distance correlation depends on its definition (README "Map fidelity").

For each head of a model on a corpus, in the head's own space (key translation + equal-mean-norm
scaling, as the maps), the correlation of q·k with −‖q − k‖ computed five ways; prints the mean
over heads. Reads the cache the CLI filled (run `python -m dashboard metrics` first).

    python -m bench.fidelity_variants --model minilm [--corpus default] [--every 1]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import pearsonr

from dashboard.analytics.fidelity import head_space, per_query_rho
from dashboard.catalog import configure
from dashboard.config import Settings
from dashboard.models.families import family_for


def _pairs(sq, sk, table, causal):
    """(q·k, −distance) of every same-sentence pair allowed by the mask, per sentence."""
    for span in table.sentence_slices():
        q, k = sq[span], sk[span]
        dots = q @ k.T
        near = -np.linalg.norm(q[:, None, :] - k[None, :, :], axis=-1)
        mask = np.tril(np.ones(dots.shape, bool)) if causal else np.ones(dots.shape, bool)
        yield dots[mask], near[mask]


def variants(q, k, table, causal) -> dict[str, float]:
    sq, sk = head_space(q, k, translate=True, scale=True)
    pearson_query = []
    for span in table.sentence_slices():
        for i in range(span.stop - span.start):
            keys = slice(span.start, span.start + (i + 1 if causal else span.stop - span.start))
            if keys.stop - keys.start >= 3:
                dots = sk[keys] @ sq[span.start + i]
                near = -np.linalg.norm(sk[keys] - sq[span.start + i], axis=1)
                if dots.std() > 0 and near.std() > 0:
                    pearson_query.append(pearsonr(dots, near)[0])
    per_sentence = [pearsonr(d, n)[0] for d, n in _pairs(sq, sk, table, causal) if len(d) >= 3]
    pooled = [np.concatenate(x) for x in zip(*_pairs(sq, sk, table, causal), strict=True)]
    rng = np.random.default_rng(0)  # all pairs of the corpus, sampled: 200k of them
    i, j = rng.integers(0, len(sq), (2, 200_000))
    return {
        "spearman per query (ours)": float(
            np.nanmean(per_query_rho(sq, sk, sq, sk, table.sentence, causal))
        ),
        "pearson per query": float(np.mean(pearson_query)),
        "pearson per sentence": float(np.mean(per_sentence)),
        "pearson, same-sentence pairs pooled": float(pearsonr(*pooled)[0]),
        "pearson, any pair of the corpus": float(
            pearsonr((sq[i] * sk[j]).sum(1), -np.linalg.norm(sq[i] - sk[j], axis=1))[0]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--every", type=int, default=1, help="every n-th layer only")
    args = parser.parse_args()
    svc = configure(Settings.from_env())
    subject, _ = svc.subject(args.model, args.corpus, check=False)
    table = svc.tokens(subject)
    causal = family_for(subject.model.architecture).causal
    rows = []
    for layer in range(0, subject.model.n_layers, args.every):
        q, k = svc.qk(subject, layer)
        for head in range(subject.model.n_heads):
            kv = subject.model.kv_head(head)
            rows.append(variants(q[head].astype(float), k[kv].astype(float), table, causal))
    print(f"{subject.model.name}, {len(rows)} heads, {len(table):,} tokens (ours: +1 is best)")
    for name in rows[0]:
        print(f"  {name:38} {np.mean([r[name] for r in rows]):+.3f}")


if __name__ == "__main__":
    main()
