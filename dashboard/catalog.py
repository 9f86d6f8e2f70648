"""What the web process's callbacks share: settings, the model registry and the result store.

Configured once by create_app; job processes forked from the web process inherit it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace

import numpy as np

from dashboard.cache_keys import MapParams, Subject, make_subject
from dashboard.config import Settings
from dashboard.errors import InputError
from dashboard.figures.hover import point_texts, sentence_texts, token_texts
from dashboard.lru import LockedLRU
from dashboard.models.corpora import (
    DEFAULT_CORPUS,
    DEFAULT_IMAGES,
    Corpus,
    default_corpus,
)
from dashboard.models.families import family_for
from dashboard.models.images import default_images
from dashboard.models.qk import TokenTable
from dashboard.models.registry import ModelSpec, Registry, discover, fingerprint
from dashboard.store import Store

log = logging.getLogger(__name__)


@dataclass
class Catalog:
    settings: Settings
    registry: Registry
    store: Store
    # per corpus or per layer, and small: a view re-renders on every hover
    _tables: LockedLRU[TokenTable] = field(default_factory=lambda: LockedLRU(8))
    _layers: LockedLRU[tuple[np.ndarray, np.ndarray]] = field(default_factory=lambda: LockedLRU(4))
    _hover: LockedLRU[list[str]] = field(default_factory=lambda: LockedLRU(1))
    _texts: LockedLRU[list[str]] = field(default_factory=lambda: LockedLRU(1))

    def add_model(self, spec: ModelSpec) -> None:
        """A model that is in no directory: a notebook's in-memory one (dashboard/notebook.py)."""
        self.registry = Registry({**self.registry.models, spec.id: spec}, self.registry.rejected)

    def corpus(self, corpus_id: str, user: str | None = None, check: bool = True) -> Corpus:
        """A bundled corpus, or a user's: someone else's private one reads as unknown (no hint
        that it exists). `check=False` only for the server's own command line."""
        if corpus_id == DEFAULT_CORPUS:
            s = self.settings
            return default_corpus(s.corpus_sentences, s.corpus_tokens, s.seed)
        if corpus_id == DEFAULT_IMAGES:
            return default_images()
        meta = (
            self.store.load_meta(corpus_key(corpus_id)) if corpus_id.startswith("user-") else None
        )
        if meta is None or (check and not readable(meta, user)):
            raise InputError(
                f"unknown corpus {corpus_id!r}: choose the default or add your sentences"
            )
        return Corpus.from_dict(meta["corpus"])

    def save_corpus(self, corpus: Corpus, owner: str | None = None) -> Corpus:
        """Stores a user's corpus as theirs (private until shared); returns it with its id,
        which is the owner's: two people mapping the same text each get their own corpus."""
        if owner:
            digest = hashlib.sha256(f"{owner}\n{corpus.id}".encode()).hexdigest()[:12]
            corpus = replace(corpus, id=f"user-{digest}")
        meta = {"corpus": corpus.to_dict(), "owner": owner, "shared": False}
        self.store.save(corpus_key(corpus.id), {}, meta)
        log.info("corpus %s (%s) saved by %s", corpus.id, corpus.name, owner or "anonymous")
        return corpus

    def share_corpus(self, corpus_id: str, user: str | None) -> bool:
        """The owner shares a corpus with everyone signed in; False when it is not theirs."""
        meta = (
            self.store.load_meta(corpus_key(corpus_id)) if corpus_id.startswith("user-") else None
        )
        if meta is None or not meta.get("owner") or meta.get("owner") != user:
            return False
        self.store.save(corpus_key(corpus_id), {}, {**meta, "shared": True})
        log.info("corpus %s shared by %s", corpus_id, user)
        return True

    def subject(
        self,
        model_id: str,
        corpus_id: str,
        user: str | None = None,
        check: bool = True,
        generate: int = 0,
    ) -> tuple[Subject, Corpus]:
        try:
            spec = self.registry.get(model_id)
        except KeyError as exc:
            raise InputError(str(exc).strip("'\"")) from exc
        corpus = self.corpus(corpus_id, user, check)
        if corpus.modality != spec.modality:
            raise InputError(
                f"{spec.name} reads {spec.modality}, but “{corpus.name}” holds {corpus.modality}s: "
                f"choose {'an image' if spec.modality == 'image' else 'a text'} corpus."
            )
        if generate and not family_for(spec.architecture).causal:
            generate = 0  # only decoders continue sentences (the control says so)
        subject = make_subject(
            spec,
            fingerprint(spec),
            corpus,
            str(self.store.root),
            self.settings.limits.max_tokens,
            generate,
        )
        return subject, corpus

    def tokens(self, subject: Subject) -> TokenTable | None:
        """Cached once present; a miss is not cached (extraction may finish any moment)."""

        def load() -> TokenTable | None:
            loaded = self.store.load(subject.tokens_key)
            return None if loaded is None else TokenTable.from_arrays(loaded[0])

        return self._tables.get(subject.tokens_key, load)

    def qk(self, subject: Subject, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Stored q [head, pos, d], k [kv_head, pos, d] of one layer (a few layers kept in memory)."""

        def load() -> tuple[np.ndarray, np.ndarray]:
            loaded = self.store.load(subject.qk_key(layer))
            if loaded is None:
                raise InputError(
                    "queries and keys are not extracted yet: wait for the job to finish"
                )
            return loaded[0]["q"], loaded[0]["k"]

        return self._layers.get(subject.qk_key(layer), load)

    def sentence_texts(self, subject: Subject, table: TokenTable) -> list[str]:
        return self._texts.get(subject.tokens_key, lambda: sentence_texts(table, 140))

    def token_hover(self, subject: Subject, table: TokenTable) -> list[str]:
        """Each token's hover text (figures/hover.token_texts), built once per corpus."""

        def load() -> list[str]:
            items = (self.store.load_meta(subject.tokens_key) or {}).get("items") or None
            return token_texts(table, items)

        return self._hover.get(subject.tokens_key, load)

    def hover(self, subject: Subject, table: TokenTable) -> list[str]:
        """Per point, as figures/hover.point_hover."""
        return point_texts(self.token_hover(subject, table))


def readable(meta: dict, user: str | None) -> bool:
    """A user corpus is its owner's, or everyone's once shared (or when nobody signs in)."""
    owner = meta.get("owner")
    return not owner or owner == user or bool(meta.get("shared"))


def corpus_key(corpus_id: str) -> str:
    return f"corpus-{corpus_id.removeprefix('user-')}"


def params_from(
    method: str, dims: int, options: list[str] | None, seed: int, key_ratio: float = 1.0
) -> MapParams:
    options = options or []
    return MapParams(method, int(dims), "translate" in options, "scale" in options, seed, key_ratio)


_current: Catalog | None = None


def configure(settings: Settings) -> Catalog:
    global _current
    store = Store(settings.cache_dir)
    store.sweep_abandoned()  # as each web process starts: what killed writers left behind
    _current = Catalog(settings, discover(settings.model_dirs, settings.cache_dir), store)
    return _current


def current() -> Catalog:
    if _current is None:
        raise RuntimeError("catalog not configured: create the app with create_app()")
    return _current
