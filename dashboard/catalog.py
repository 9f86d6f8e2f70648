"""What the web process's callbacks share: settings, the model registry and the result store.

Configured once by create_app; job processes forked from the web process inherit it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dashboard.cache_keys import MapParams, Subject, make_subject
from dashboard.config import Settings
from dashboard.errors import InputError
from dashboard.figures.hover import point_hover, sentence_texts
from dashboard.models.corpora import (
    DEFAULT_CORPUS,
    DEFAULT_IMAGES,
    Corpus,
    default_corpus,
)
from dashboard.models.images import default_images
from dashboard.models.qk import TokenTable
from dashboard.models.registry import Registry, discover, fingerprint
from dashboard.store import Store


@dataclass
class Catalog:
    settings: Settings
    registry: Registry
    store: Store
    _hover: dict[str, list[str]] = field(default_factory=dict)
    _tables: dict[str, TokenTable] = field(default_factory=dict)
    _layers: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _texts: tuple[str, list[str]] = ("", [])

    def corpus(self, corpus_id: str) -> Corpus:
        if corpus_id == DEFAULT_CORPUS:
            s = self.settings
            return default_corpus(s.corpus_sentences, s.corpus_tokens, s.seed)
        if corpus_id == DEFAULT_IMAGES:
            return default_images()
        meta = (
            self.store.load_meta(corpus_key(corpus_id)) if corpus_id.startswith("user-") else None
        )
        if meta is None:
            raise InputError(
                f"unknown corpus {corpus_id!r}: choose the default or add your sentences"
            )
        return Corpus.from_dict(meta["corpus"])

    def save_corpus(self, corpus: Corpus) -> None:
        self.store.save(corpus_key(corpus.id), {}, {"corpus": corpus.to_dict()})

    def subject(self, model_id: str, corpus_id: str) -> tuple[Subject, Corpus]:
        try:
            spec = self.registry.get(model_id)
        except KeyError as exc:
            raise InputError(str(exc).strip("'\"")) from exc
        corpus = self.corpus(corpus_id)
        if corpus.modality != spec.modality:
            raise InputError(
                f"{spec.name} reads {spec.modality}, but “{corpus.name}” holds {corpus.modality}s: "
                f"choose {'an image' if spec.modality == 'image' else 'a text'} corpus."
            )
        subject = make_subject(
            spec, fingerprint(spec), corpus, str(self.store.root), self.settings.limits.max_tokens
        )
        return subject, corpus

    def tokens(self, subject: Subject) -> TokenTable | None:
        """Cached once present; a miss is not cached (extraction may finish any moment)."""
        if subject.tokens_key not in self._tables:
            loaded = self.store.load(subject.tokens_key)
            if loaded is None:
                return None
            if len(self._tables) > 8:
                self._tables.clear()
            self._tables[subject.tokens_key] = TokenTable.from_arrays(loaded[0])
        return self._tables[subject.tokens_key]

    def qk(self, subject: Subject, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Stored q [head, pos, d], k [kv_head, pos, d] of one layer (a few layers kept in memory)."""
        key = subject.qk_key(layer)
        if key not in self._layers:
            loaded = self.store.load(key)
            if loaded is None:
                raise InputError(
                    "queries and keys are not extracted yet: wait for the job to finish"
                )
            if len(self._layers) >= 4:
                self._layers.pop(next(iter(self._layers)))
            self._layers[key] = (loaded[0]["q"], loaded[0]["k"])
        return self._layers[key]

    def sentence_texts(self, subject: Subject, table: TokenTable) -> list[str]:
        if self._texts[0] != subject.tokens_key:
            self._texts = (subject.tokens_key, sentence_texts(table, 140))
        return self._texts[1]

    def hover(self, subject: Subject, table: TokenTable) -> list[str]:
        if subject.tokens_key not in self._hover:
            meta = self.store.load_meta(subject.tokens_key) or {}
            items = meta.get("items") or None
            self._hover = {
                subject.tokens_key: point_hover(table, items)
            }  # keep one: it is per corpus
        return self._hover[subject.tokens_key]


def corpus_key(corpus_id: str) -> str:
    return f"corpus-{corpus_id.removeprefix('user-')}"


def params_from(method: str, dims: int, options: list[str] | None, seed: int) -> MapParams:
    options = options or []
    return MapParams(method, int(dims), "translate" in options, "scale" in options, seed)


_current: Catalog | None = None


def configure(settings: Settings) -> Catalog:
    global _current
    _current = Catalog(
        settings, discover(settings.model_dirs, settings.cache_dir), Store(settings.cache_dir)
    )
    return _current


def current() -> Catalog:
    if _current is None:
        raise RuntimeError("catalog not configured: create the app with create_app()")
    return _current
