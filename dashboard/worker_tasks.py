"""Work that runs on the warm workers (Dask worker processes, or in-process for the CLI).

Each worker keeps its models loaded and its numba code compiled for its whole life; results go
to the shared disk store, so a cancelled job keeps every head it finished.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
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
from dashboard.models.qk import TokenTable, expand_kv, softmax_attention, tensor_name
from dashboard.models.registry import ModelSpec
from dashboard.projection.joint import RATIOS, JointFit, joint_points
from dashboard.projection.methods import Projector
from dashboard.runtime import private_folder, runtime_dir
from dashboard.store import Store

_MODELS: LockedLRU[tuple[Any, Any]] = LockedLRU(2)  # fingerprint → (model, preprocessor)
_LAYERS: LockedLRU[tuple[np.ndarray, np.ndarray]] = LockedLRU(8)  # qk key → (q, k)
# coords key → (fitted projector, the corpus's JointFit): kept in memory only (never pickled to
# disk), refitted — seeded, so the same map — when this worker has not fitted that map yet
_FITTED: LockedLRU[tuple[Any, JointFit]] = LockedLRU(4)


def _model(spec: ModelSpec, fingerprint: str, causal_lm: bool = False) -> tuple[Any, Any]:
    """The warm model; `causal_lm` with its language-model head (to generate tokens)."""
    from dashboard.models.loader import load

    return _MODELS.get(
        f"{fingerprint}+lm" if causal_lm else fingerprint, lambda: load(spec, causal_lm)
    )


@contextmanager
def _file_lock(store: Store, name: str):
    """Two workers asked for the same extraction: one does it, the other waits then reads it.
    The lock lives in the runtime folder: a read-only cache must not stop an extraction."""
    folder = private_folder(runtime_dir(store.root) / "locks")
    with open(folder / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def extract_task(subject: Subject, corpus: Corpus) -> dict[str, Any]:
    """Q/K of every layer for the corpus, stored once per (model weights, corpus)."""
    return extract_with(
        subject,
        corpus,
        lambda: _model(subject.model, subject.fingerprint, bool(subject.generate)),
    )


def extract_with(
    subject: Subject, corpus: Corpus, get_model: Callable[[], tuple[Any, Any]]
) -> dict[str, Any]:
    """extract_task with the model from `get_model` (called only on a cache miss): a worker's
    warm model, or a notebook's in-memory one (dashboard/notebook.py)."""
    store = Store(subject.cache_dir)
    with _file_lock(store, subject.tokens_key):
        if store.has(subject.tokens_key) and all(
            store.has(subject.qk_key(i)) for i in range(subject.model.n_layers)
        ):
            return store.load_meta(subject.tokens_key) or {}
        model, preprocessor = get_model()
        started = time.perf_counter()
        with _spill_folder(store) as spill:
            table, meta = _extract_and_store(model, preprocessor, subject, corpus, store, spill)
        meta["seconds"] = round(time.perf_counter() - started, 3)
        store.save(subject.tokens_key, table.to_arrays(), meta)
        return meta


@contextmanager
def _spill_folder(store: Store):
    """Where an extraction streams its layers before they are stored (a private temporary
    folder in the runtime folder: a read-only cache must not stop an extraction)."""
    with tempfile.TemporaryDirectory(dir=private_folder(runtime_dir(store.root) / "spill")) as f:
        yield Path(f)


def _extract_and_store(
    model: Any, preprocessor: Any, subject: Subject, corpus: Corpus, store: Store, spill: Path
) -> tuple[TokenTable, dict[str, Any]]:
    """Runs the extraction (each layer's file written in place in `spill`), then stores those
    files: the worker never holds a layer's Q/K. Returns the token table and its meta."""
    with _all_cores():  # extraction comes before any projection: nothing else wants the cores
        table, layers, _ = _extract(model, preprocessor, subject, corpus, spill)
    cut: dict[str, Any] = {}
    if corpus.modality == "text":  # sentences longer than the model reads, said per sentence
        from dashboard.models.extract import context_length, cut_sentences

        context = context_length(model, preprocessor)
        cut = {
            "context": context,
            "cut": cut_sentences(preprocessor, corpus.sentences, table, context),
        }
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
    for layer in range(len(layers)):
        store.adopt(  # the layer's file as the spill wrote it: no copy, no read back
            subject.qk_key(layer),
            layers.spill.file(layer),
            {
                "q": tensor_name(layer, "q", rotary),
                "k": tensor_name(layer, "k", rotary),
                "shape_q": "head pos d_head",
                "shape_k": "kv_head pos d_head",
            },
        )
    return table, {
        "model": subject.model.id,
        "corpus": subject.corpus_digest,
        "n_tokens": len(table),
        "n_items": corpus.size,
        "modality": corpus.modality,
        "items": [Path(p).stem for p in corpus.images] if corpus.modality == "image" else [],
        "labels": names,
        **cut,
    }


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


def _extract(
    model: Any, preprocessor: Any, subject: Subject, corpus: Corpus, spill: Path | None = None
):
    from dashboard.models.extract import extract_images, extract_text

    family = family_for(subject.model.architecture)
    if family.modality != corpus.modality:
        raise InputError(
            f"{subject.model.name} reads {family.modality}, but this corpus holds {corpus.modality}s: "
            f"choose a{'n image' if family.modality == 'image' else ' text'} corpus."
        )
    if subject.generate and not family.causal:
        raise InputError(
            f"{subject.model.name} is not a causal model: only decoders continue sentences."
        )
    if corpus.modality == "image":
        return extract_images(model, preprocessor, family, corpus.images, spill=spill)
    return extract_text(
        model, preprocessor, family, corpus.sentences, generate=subject.generate, spill=spill
    )


def _layer(store: Store, key: str) -> tuple[np.ndarray, np.ndarray]:
    def load() -> tuple[np.ndarray, np.ndarray]:
        loaded = store.load(key)
        if loaded is None:
            raise RuntimeError("queries/keys are missing from the cache: run the extraction first")
        return loaded[0]["q"], loaded[0]["k"]

    return _LAYERS.get(key, load)


def _head(store: Store, subject: Subject, layer: int, head: int) -> tuple[np.ndarray, np.ndarray]:
    """One head's queries [pos, d] and the keys it scores against (its KV group's), from this
    worker's warm layers; a head the model does not have says so."""
    problem = subject.model.missing_head(layer, head)
    if problem:
        raise ValueError(problem)
    q, k = _layer(store, subject.qk_key(layer))  # [head, pos, d], [kv_head, pos, d]
    return q[head], k[subject.model.kv_head(head)]


def _causal(subject: Subject) -> bool:
    return family_for(subject.model.architecture).causal


def project_task(subject: Subject, layer: int, head: int, params: MapParams) -> str:
    """Projects one head's queries and keys jointly; returns the coordinates' cache key."""
    store = Store(subject.cache_dir)
    key = subject.coords_key(layer, head, params)
    if store.has(key):
        return key
    q, k = _head(store, subject, layer, head)
    points = joint_points(q, k, params.translate, params.scale, params.key_ratio)
    started = time.perf_counter()
    projector = Projector(params.method, params.dims, params.seed)
    coords = projector.fit_transform(points, should_stop=_unwanted())
    meta = {
        "layer": layer,
        "head": head,
        "kv_head": subject.model.kv_head(head),
        "params": params.to_dict(),
        "seconds": round(time.perf_counter() - started, 3),
        "shape": "point(q then k) dim",
    }
    store.save(key, {"coords": coords}, meta)
    return key


def _table(store: Store, subject: Subject) -> TokenTable:
    loaded = store.load(subject.tokens_key)
    if loaded is None:
        raise RuntimeError("the token table is missing from the cache: run the extraction first")
    return TokenTable.from_arrays(loaded[0])


def metrics_task(subject: Subject, layer: int, head: int, params: MapParams) -> str:
    """Head metrics and map fidelity of one head's map (projected first if need be), stored as
    JSON (an empty npz beside it); returns the key."""
    from dashboard.analytics.metrics import map_metrics

    store = Store(subject.cache_dir)
    key = subject.metrics_key(layer, head, params)
    if store.has(key):
        return key
    coords = store.load(project_task(subject, layer, head, params))[0]["coords"]
    q, k = _head(store, subject, layer, head)
    started = time.perf_counter()
    values = map_metrics(
        q,
        k,
        coords,
        _table(store, subject),
        causal=_causal(subject),
        translate=params.translate,
        scale=params.scale,
        seed=params.seed,
        key_ratio=params.key_ratio,
    )
    meta = {
        "layer": layer,
        "head": head,
        "params": params.to_dict(),
        # JSON has no NaN: an undefined metric is null
        "metrics": {name: (v if np.isfinite(v) else None) for name, v in values.items()},
        "seconds": round(time.perf_counter() - started, 3),
    }
    store.save(key, {}, meta)
    return key


def similarity_task(subject: Subject, seed: int) -> str:
    """Distances between every pair of heads' attention, and their MDS map; returns its key."""
    from dashboard.analytics.similarity import embed, head_distances

    store = Store(subject.cache_dir)
    key = subject.similarity_key(seed)
    if store.has(key):
        return key
    started = time.perf_counter()
    n_heads = subject.model.n_heads
    layers = []
    for layer in range(subject.model.n_layers):
        q, k = _layer(store, subject.qk_key(layer))  # [head, pos, d], [kv_head, pos, d]
        layers.append((q, expand_kv(k, n_heads)))
    causal = _causal(subject)
    distances, info = head_distances(layers, _table(store, subject), causal)
    coords = embed(distances, seed)
    heads = np.array(subject.heads(), dtype=np.int32)  # [layer·head, 2]: (layer, head) per row
    meta = {**info, "causal": causal, "seconds": round(time.perf_counter() - started, 3)}
    store.save(
        key, {"distances": distances.astype(np.float32), "coords": coords, "heads": heads}, meta
    )
    return key


def scale_curve_task(subject: Subject, layer: int, head: int, translate: bool) -> str:
    """rho_full of one head at every norm scale of the grid (RATIOS); returns its key."""
    from dashboard.analytics.fidelity import rho_full

    store = Store(subject.cache_dir)
    key = subject.curve_key(layer, head, translate)
    if store.has(key):
        return key
    q, k = _head(store, subject, layer, head)
    table, causal = _table(store, subject), _causal(subject)
    started = time.perf_counter()
    rho = []
    for ratio in RATIOS:
        points = joint_points(q, k, translate, True, ratio)
        rho.append(rho_full(points[: len(q)], points[len(q) :], table.sentence, causal=causal))
    meta = {
        "layer": layer,
        "head": head,
        "translate": translate,
        "seconds": round(time.perf_counter() - started, 3),
    }
    store.save(key, {"ratio": np.array(RATIOS), "rho": np.array(rho)}, meta)
    return key


def place_task(
    subject: Subject, layer: int, head: int, params: MapParams, sentence: str
) -> dict[str, np.ndarray]:
    """A new sentence's queries and keys placed into one head's fitted map, without refitting
    it: coords [2·pos, dims] (queries then keys), its tokens, and the head's attention weights
    [pos_q, pos_k] within the sentence (for its sentence view)."""
    from dashboard.models.corpora import Corpus

    store = Store(subject.cache_dir)
    kv_head = subject.model.kv_head(head)
    key = subject.coords_key(layer, head, params)
    projector = Projector(params.method, params.dims, params.seed)
    if projector.cannot_place():
        raise InputError(projector.cannot_place())

    def fit() -> tuple[Any, JointFit]:
        q, k = _head(store, subject, layer, head)
        joint = JointFit.fit(q, k, params.translate, params.scale, params.key_ratio)
        return projector.fit(joint.apply(q, k))[1], joint

    fitted, joint = _FITTED.get(key, fit)
    model, preprocessor = _model(subject.model, subject.fingerprint)
    one = Corpus("placed", "placed", (sentence,), "")
    table, queries, keys = _extract(model, preprocessor, subject, one)
    q, k = queries[layer][head], keys[layer][kv_head]  # [pos, d]
    causal = _causal(subject)
    return {
        "coords": projector.place(fitted, joint.apply(q, k)),
        "token": table.token.astype(str),
        "special": table.special,
        "weights": softmax_attention(q, k, causal).astype(np.float32),
    }


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


# umap-learn finds neighbours exactly below 4,096 points and by NN-descent above, each with its
# own numba code: the warm-up fit is just above, so both paths (~30 s each to compile) are
# compiled before a user's map or Cancel needs them (a UMAP Cancel once waited 27.6 s on it).
WARM_POINTS = 4_200


def warm_numba() -> float:
    """Compiles UMAP's numba code once per worker: a fit that takes the NN-descent path (a few
    epochs: the code compiled is the same), and a transform (a sentence dropped into a map)."""
    started = time.perf_counter()
    x = np.random.default_rng(0).normal(size=(WARM_POINTS, 16))
    projector = Projector("umap", 2, 0, {"n_neighbors": 10, "n_epochs": 5})
    projector.place(projector.fit(x)[1], x[:4])
    return time.perf_counter() - started
