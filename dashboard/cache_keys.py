"""What a map request is, and the cache keys that name each stage's output. Pure Python.

Keys cover everything that changes an output: model weights (content hash), corpus content,
layer/head, method, dimensions, options, seed, method parameters and library versions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from dashboard.models.corpora import Corpus
from dashboard.models.registry import ModelSpec
from dashboard.projection.joint import RATIOS
from dashboard.projection.methods import DEFAULTS, METHODS, library_version
from dashboard.store import make_key

# Bump when a metric's definition changes: cached metrics are then recomputed.
METRICS_VERSION = "1"


@dataclass(frozen=True)
class MapParams:
    method: str = "pca"
    dims: int = 2
    translate: bool = True
    scale: bool = True
    seed: int = 0
    key_ratio: float = 1.0  # norm scaling's target mean‖k‖ / mean‖q‖ (projection/joint.py)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}: choose one of {', '.join(METHODS)}")
        if self.dims not in (2, 3):
            raise ValueError("dims must be 2 or 3")
        if self.key_ratio not in RATIOS:
            raise ValueError(f"norm scale must be one of {', '.join(map(str, RATIOS))}")

    def to_dict(self) -> dict[str, Any]:
        """The default ratio (equal norms) is left out: maps cached before the norm-scale
        control existed keep their keys."""
        data = asdict(self)
        if self.key_ratio == 1.0:
            data.pop("key_ratio")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MapParams:
        names = ("method", "dims", "translate", "scale", "seed", "key_ratio")
        return cls(**{k: data[k] for k in names if k in data})

    def as_pca(self) -> MapParams:
        return replace(self, method="pca")

    def label(self) -> str:
        scaling = (
            "norm scaling" if self.key_ratio == 1.0 else f"keys at {self.key_ratio:.2g}× query norm"
        )
        options = [
            name for name, on in (("key translation", self.translate), (scaling, self.scale)) if on
        ]
        return f"{METHODS[self.method]} {self.dims}D" + (
            f", {' + '.join(options)}" if options else ""
        )


@dataclass(frozen=True)
class Subject:
    """Everything a worker needs: small and picklable (the corpus travels only to extraction)."""

    model: ModelSpec
    fingerprint: str
    corpus_digest: str
    cache_dir: str
    max_tokens: int
    generate: int = 0  # causal models: each sentence continued by this many greedy tokens

    def _key(self, kind: str, **parts: Any) -> str:
        """A key of this model's weights and this corpus: every stored entry is one."""
        return make_key(kind, model=self.fingerprint, corpus=self.corpus_digest, **parts)

    @property
    def tokens_key(self) -> str:
        return self._key("tokens")

    def qk_key(self, layer: int) -> str:
        return self._key("qk", layer=layer)

    def coords_key(self, layer: int, head: int, params: MapParams) -> str:
        return self._key(
            "coords",
            layer=layer,
            head=head,
            params=params.to_dict(),
            method_params=DEFAULTS[params.method],
            library=library_version(params.method),
        )

    def metrics_key(self, layer: int, head: int, params: MapParams) -> str:
        """The head metrics and fidelity of one map: named by that map's key."""
        return make_key(
            "metrics", coords=self.coords_key(layer, head, params), version=METRICS_VERSION
        )

    def similarity_key(self, seed: int) -> str:
        """The head-similarity distances and their MDS map (analytics/similarity.py)."""
        from dashboard.analytics.similarity import ENTRY_BUDGET, MEASURE, PAIR_WORK

        return self._key(
            "similarity",
            measure=MEASURE,
            budget=ENTRY_BUDGET,
            pair_work=PAIR_WORK,
            seed=seed,
            library=library_version("pca"),  # scikit-learn's MDS
        )

    def curve_key(self, layer: int, head: int, translate: bool) -> str:
        """One head's rho_full at every norm scale of the grid (projection/joint.py RATIOS)."""
        return self._key("curve", layer=layer, head=head, translate=translate, ratios=RATIOS)

    def matrix_key(self, params: MapParams) -> str:
        return self._key("matrix", params=params.to_dict())

    def heads(self) -> list[tuple[int, int]]:
        return [
            (layer, head)
            for layer in range(self.model.n_layers)
            for head in range(self.model.n_heads)
        ]


MAX_GENERATE = 32  # greedy tokens per sentence, at most


def make_subject(
    model: ModelSpec,
    fingerprint: str,
    corpus: Corpus,
    cache_dir: str,
    max_tokens: int,
    generate: int = 0,
) -> Subject:
    """`generate` > 0 makes another token sequence: it is part of the corpus digest, so every
    stage's key (tokens, Q/K, maps) differs from the plain corpus's."""
    if not 0 <= generate <= MAX_GENERATE:
        raise ValueError(f"generate between 0 and {MAX_GENERATE} tokens per sentence")
    digest = corpus.digest if not generate else f"{corpus.digest}+greedy{generate}"
    return Subject(model, fingerprint, digest, cache_dir, max_tokens, generate)
