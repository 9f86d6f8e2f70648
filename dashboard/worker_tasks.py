"""Work that runs on the warm workers (Dask worker processes, or in-process for the CLI).

Each worker keeps its models loaded and its numba code compiled for its whole life; results go
to the shared disk store, so a cancelled job keeps every head it finished.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.cache_keys import MapParams, Subject
from dashboard.errors import InputError, over_limit
from dashboard.lru import LockedLRU
from dashboard.models.corpora import Corpus
from dashboard.models.families import family_for
from dashboard.models.qk import tensor_name
from dashboard.models.registry import ModelSpec
from dashboard.projection.joint import joint_points
from dashboard.projection.methods import Projector
from dashboard.store import Store

_MODELS: LockedLRU[tuple[Any, Any]] = LockedLRU(2)  # fingerprint → (model, preprocessor)
_LAYERS: LockedLRU[tuple[np.ndarray, np.ndarray]] = LockedLRU(8)  # qk key → (q, k)


def _model(spec: ModelSpec, fingerprint: str) -> tuple[Any, Any]:
    from dashboard.models.loader import load

    return _MODELS.get(fingerprint, lambda: load(spec))


@contextmanager
def _file_lock(store: Store, name: str):
    """Two workers asked for the same extraction: one does it, the other waits then reads it."""
    folder = store.root / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def extract_task(subject: Subject, corpus: Corpus) -> dict[str, Any]:
    """Q/K of every layer for the corpus, stored once per (model weights, corpus)."""
    store = Store(subject.cache_dir)
    with _file_lock(store, subject.tokens_key):
        if store.has(subject.tokens_key) and all(
            store.has(subject.qk_key(i)) for i in range(subject.model.n_layers)
        ):
            return store.load_meta(subject.tokens_key) or {}
        model, preprocessor = _model(subject.model, subject.fingerprint)
        started = time.perf_counter()
        with _all_cores():  # extraction comes before any projection: nothing else wants the cores
            table, queries, keys = _extract(model, preprocessor, subject, corpus)
        names = sorted(set(corpus.labels))
        if corpus.labels:  # a label per sentence → per token, as an index into `names`
            index = np.array([names.index(label) for label in corpus.labels], dtype=np.int32)
            table = replace(table, label=index[table.sentence])
        if len(table) > subject.max_tokens:
            raise over_limit(
                f"The corpus ({len(table):,} tokens for this model)",
                f"{subject.max_tokens:,}",
                "QKATLAS_MAX_TOKENS",
            )
        family = family_for(subject.model.architecture)
        rotary = family.positions == "rotary"
        for layer, (q, k) in enumerate(zip(queries, keys, strict=True)):
            store.save(
                subject.qk_key(layer),
                {"q": q, "k": k},
                {
                    "q": tensor_name(layer, "q", rotary),
                    "k": tensor_name(layer, "k", rotary),
                    "shape_q": "head pos d_head",
                    "shape_k": "kv_head pos d_head",
                },
            )
        meta = {
            "model": subject.model.id,
            "corpus": subject.corpus_digest,
            "n_tokens": len(table),
            "n_items": corpus.size,
            "modality": corpus.modality,
            "items": [Path(p).stem for p in corpus.images] if corpus.modality == "image" else [],
            "labels": names,
            "seconds": round(time.perf_counter() - started, 3),
        }
        store.save(subject.tokens_key, table.to_arrays(), meta)
        return meta


@contextmanager
def _all_cores():
    """Workers run one torch thread each (projections fill the cores by process); a lone
    extraction measured ~1.5× faster on two."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or threads)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _extract(model: Any, preprocessor: Any, subject: Subject, corpus: Corpus):
    from dashboard.models.extract import extract_images, extract_text

    family = family_for(subject.model.architecture)
    if family.modality != corpus.modality:
        raise InputError(
            f"{subject.model.name} reads {family.modality}, but this corpus holds {corpus.modality}s: "
            f"choose a{'n image' if family.modality == 'image' else ' text'} corpus."
        )
    if corpus.modality == "image":
        return extract_images(model, preprocessor, family, corpus.images)
    return extract_text(model, preprocessor, family, corpus.sentences)


def _layer(store: Store, key: str) -> tuple[np.ndarray, np.ndarray]:
    def load() -> tuple[np.ndarray, np.ndarray]:
        loaded = store.load(key)
        if loaded is None:
            raise RuntimeError("queries/keys are missing from the cache: run the extraction first")
        return loaded[0]["q"], loaded[0]["k"]

    return _LAYERS.get(key, load)


def project_task(subject: Subject, layer: int, head: int, params: MapParams) -> str:
    """Projects one head's queries and keys jointly; returns the coordinates' cache key."""
    store = Store(subject.cache_dir)
    key = subject.coords_key(layer, head, params)
    if store.has(key):
        return key
    problem = subject.model.missing_head(layer, head)
    if problem:
        raise ValueError(problem)
    q, k = _layer(store, subject.qk_key(layer))  # [head, pos, d], [kv_head, pos, d]
    kv_head = subject.model.kv_head(head)
    points = joint_points(q[head], k[kv_head], params.translate, params.scale)
    started = time.perf_counter()
    projector = Projector(params.method, params.dims, params.seed)
    coords = projector.fit_transform(points, should_stop=_unwanted())
    meta = {
        "layer": layer,
        "head": head,
        "kv_head": kv_head,
        "params": params.to_dict(),
        "seconds": round(time.perf_counter() - started, 3),
        "shape": "point(q then k) dim",
    }
    store.save(key, {"coords": coords}, meta)
    return key


def _unwanted() -> Callable[[], bool] | None:
    """On a Dask worker: a check that turns true once no client wants this task any more — its
    job was cancelled (Dash kills the job process; the scheduler then releases the job's tasks).
    A task shared by several sessions' jobs goes on while any of them wants it. None elsewhere."""
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        worker, key = get_worker(), thread_state.key
    except (ImportError, ValueError, AttributeError):  # not in a worker's task (the CLI)
        return None

    def should_stop() -> bool:
        task = worker.state.tasks.get(key)
        return task is None or task.state in ("cancelled", "released", "forgotten")

    return should_stop


def warm_numba() -> float:
    """Compiles UMAP's numba code once per worker (its neighbours are computed here, exactly:
    NN-descent never runs, so a small set compiles everything a map uses)."""
    started = time.perf_counter()
    x = np.random.default_rng(0).normal(size=(500, 16))
    Projector("umap", 2, 0, {"n_neighbors": 10}).fit_transform(x)
    return time.perf_counter() - started
