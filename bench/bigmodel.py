"""7. A BERT-base-shaped encoder on a 20,000-token corpus, then its UMAP maps scaled out.

The model is *random weights for timing only*: a transformers BertConfig of BERT-base's shape
(12 layers × 12 heads, hidden 768, d_head 64), initialised with a fixed seed, saved as
safetensors with the default MiniLM's WordPiece tokenizer files into a temporary MODEL_DIRS
folder, and found there by the app's own registry (its allowlist; trust_remote_code stays off).
The corpus: whole sentences of the default Wikipedia sample, taken in the sample's order until
they hold the token count, the corpus caps raised for this run only (QKATLAS_CORPUS_SENTENCES,
QKATLAS_CORPUS_TOKENS, QKATLAS_MAX_TOKENS in this run's Settings).

Cold PCA: a fresh LocalCluster (2 workers × 1 thread, warming this model as the app warms its
default) and a fresh cache; the extraction task is sent the moment the cluster is up. Each
worker's peak RSS is the kernel's own high-water mark (VmHWM in /proc/<pid>/status, read in the
worker right after the extraction: model load included). Then, on the worker that extracted,
with the same torch thread count extraction uses: a bare forward pass over the same batches
(bench.extraction.bare_forward) and the extraction task again into fresh cache folders
(extraction + storing every layer and the token table), interleaved. Then the PCA matrix of
every head on the same pool. "Cluster start → all heads" = cluster start + extraction + the
PCA request (the forward/extraction comparison in between is not counted).

Scale-out: the same heads' UMAP maps (a stated subset: n heads per layer, the same for every
run) on (a) a LocalCluster (`dask_pool.start_local_cluster`) and (b) a pool started with Dask's
own commands (`dask scheduler` + `dask worker --nworkers N --nthreads 1 --preload
dashboard.worker_preload`, tests/deploy/servers.py) with N = 1 and 2. Each run gets a fresh
cache holding only the stored Q/K and token table (hard links), and every worker compiles
UMAP's numba code before the clock starts. Maps are compared array for array with (a)'s.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.timing import load_average, log, timed

SEED = 0
MODEL_NAME = "bert-base-random-weights"  # the folder name: the app lists it as local/<name>
LABEL = "random weights, for timing only"
BERT_BASE = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "vocab_size": 30522,
}
TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)
RSS_FLOOR_GB = 2.0
EXTRACT_RATIO_FLOOR = 1.15
PCA_COLD_FLOOR_S = 30.0


@dataclass
class ScaleRun:
    label: str
    n_workers: int
    heads: int  # heads of the method finished
    phase_s: float  # request → every map stored (PCA stand-ins first, as the app runs them)
    differ: int | None = None  # heads whose map differs from the LocalCluster's (None: it is it)
    load: str = ""

    @property
    def heads_per_minute(self) -> float:
        return self.heads / self.phase_s * 60 if self.phase_s else float("nan")


@dataclass
class BigModelResult:
    model_id: str
    n_layers: int
    n_heads: int
    head_dim: int
    n_params: int
    n_sentences: int
    n_tokens: int
    cluster_start_s: float
    extraction_s: float  # the extraction task, sent → stored (model load included if not warm)
    pca_s: float  # the PCA request → every head stored
    peak_rss: dict[str, int]  # worker → VmHWM bytes right after the extraction
    rss_after_pca: dict[str, int]  # worker → VmHWM bytes after the PCA matrix
    threads: int
    forward_s: list[float] = field(default_factory=list)
    extract_store_s: list[float] = field(default_factory=list)
    heads_sample: str = ""
    scale: list[ScaleRun] = field(default_factory=list)
    load_before: str = ""
    load_after: str = ""

    @property
    def pca_cold_s(self) -> float:
        return self.cluster_start_s + self.extraction_s + self.pca_s

    @property
    def peak_gb(self) -> float:
        return max(self.peak_rss.values()) / 1e9

    @property
    def ratio(self) -> float | None:
        if not self.forward_s or not self.extract_store_s:
            return None
        return float(np.median(self.extract_store_s) / np.median(self.forward_s))

    @property
    def differing(self) -> int | None:
        counted = [r.differ for r in self.scale if r.differ is not None]
        return sum(counted) if counted else None


def build_model(model_dirs: Path, shape: dict[str, int] = BERT_BASE) -> Path:
    """A random-initialised BERT of `shape` (fixed seed), safetensors + WordPiece tokenizer."""
    import torch
    import transformers as tf

    from dashboard.models.registry import default_model_dir

    folder = model_dirs / MODEL_NAME
    with torch.random.fork_rng():  # the seed stays inside: nothing else's randomness changes
        torch.manual_seed(SEED)
        model = tf.BertModel(tf.BertConfig(**shape))
    model.save_pretrained(folder, safe_serialization=True)
    for name in TOKENIZER_FILES:
        shutil.copy(default_model_dir() / name, folder / name)
    return folder


def first_sentences(counts: list[int], n_tokens: int) -> int:
    """How many leading sentences (token counts `counts`) first hold at least n_tokens."""
    total = np.cumsum(counts)
    reached = np.flatnonzero(total >= n_tokens)
    if not len(reached):
        raise ValueError(f"the sample holds {int(total[-1]) if len(total) else 0} tokens only")
    return int(reached[0]) + 1


def bench_settings(cache_dir: Path, model_dirs: Path, n_tokens: int, warm_umap: bool) -> Any:
    """This run's Settings: the corpus caps raised through their QKATLAS_* variables."""
    from dashboard.config import Settings

    return Settings.from_env(
        {
            **os.environ,
            "QKATLAS_CACHE_DIR": str(cache_dir),
            "MODEL_DIRS": str(model_dirs),
            "QKATLAS_CORPUS_SENTENCES": "5000",
            "QKATLAS_CORPUS_TOKENS": str(2 * n_tokens),  # an estimate's budget: counted below
            "QKATLAS_MAX_TOKENS": str(n_tokens + 512),  # the last whole sentence fits
            "QKATLAS_WARM_UMAP": "1" if warm_umap else "0",
        }
    )


def big_corpus(settings: Any, spec: Any, n_tokens: int) -> Any:
    """The default sample's leading sentences holding n_tokens of this model's tokens."""
    from transformers import AutoTokenizer

    from dashboard.models.corpora import Corpus, default_corpus
    from dashboard.models.extract import encode_sentences

    sample = default_corpus(settings.corpus_sentences, settings.corpus_tokens, settings.seed)
    tokenizer = AutoTokenizer.from_pretrained(spec.path)
    counts = [len(ids) for ids in encode_sentences(tokenizer, sample.sentences, 512)]
    n = first_sentences(counts, n_tokens)
    return Corpus(
        "bench-20k",
        f"Wikipedia sample ({n} sentences, {sum(counts[:n]):,} tokens)",
        sample.sentences[:n],
        sample.credit,
    )


def memory() -> dict[str, int]:
    """This process's resident set now and at its peak (the kernel's VmRSS and VmHWM), bytes."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) * 1024
    return out


def forward_then_extract(subject: Any, corpus: Any, folder: str) -> tuple[float, float, int]:
    """On a worker: (bare forward s, extraction + storing s, torch threads), the warm model,
    the thread count extraction uses; the extraction stores into a fresh `folder`."""
    import torch

    from bench.extraction import bare_forward
    from dashboard import worker_tasks

    model, tokenizer = worker_tasks._model(subject.model, subject.fingerprint)
    with worker_tasks._all_cores():
        threads = torch.get_num_threads()
        _, forward_s = timed(bare_forward, model, tokenizer, corpus.sentences)
    _, extract_s = timed(worker_tasks.extract_task, replace(subject, cache_dir=folder), corpus)
    shutil.rmtree(folder, ignore_errors=True)
    return forward_s, extract_s, threads


def _extraction_key(subject: Any) -> str:
    from dashboard.dask_pool import task_key

    return task_key(subject, f"extract-{subject.tokens_key}")


def measure_cold(
    root: Path, settings: Any, spec: Any, subject: Any, corpus: Any, repeats: int
) -> BigModelResult:
    from bench.matrix import local_pool, request_matrix
    from dashboard import worker_tasks
    from dashboard.cache_keys import MapParams

    load_before = load_average()
    total = spec.n_layers * spec.n_heads
    log(f"bigmodel: fresh LocalCluster warming {spec.id}, then extraction of {corpus.name}")
    with local_pool(settings, spec) as (pool, start_s):
        future = pool.submit(
            worker_tasks.extract_task, subject, corpus, key=_extraction_key(subject), priority=100
        )
        _, extraction_s = timed(future.result)
        peak = {addr: m["VmHWM"] for addr, m in pool.run(memory).items()}
        extractor = max(peak, key=peak.get)
        log(
            f"bigmodel: extraction {extraction_s:.1f} s, peak RSS {max(peak.values()) / 1e9:.2f} GB"
        )
        forward, extract, threads = [], [], 0
        for i in range(repeats):  # interleaved: drift in machine load hits both sides alike
            f, e, threads = pool.submit(
                forward_then_extract,
                subject,
                corpus,
                str(root / f"ratio-{i}"),
                workers=[extractor],
                allow_other_workers=False,
                pure=False,
            ).result()
            forward.append(f)
            extract.append(e)
            log(f"bigmodel: bare forward {f:.1f} s, extraction + storing {e:.1f} s")
        pca = request_matrix(
            pool, subject, corpus, MapParams("pca", seed=settings.seed), "bigmodel pca", None, total
        )
        after = {addr: m["VmHWM"] for addr, m in pool.run(memory).items()}
    return BigModelResult(
        model_id=spec.id,
        n_layers=spec.n_layers,
        n_heads=spec.n_heads,
        head_dim=spec.head_dim,
        n_params=spec.n_params,
        n_sentences=len(corpus.sentences),
        n_tokens=pca.n_points // 2,
        cluster_start_s=start_s,
        extraction_s=extraction_s,
        pca_s=pca.done_s,
        peak_rss=peak,
        rss_after_pca=after,
        threads=threads,
        forward_s=forward,
        extract_store_s=extract,
        load_before=load_before,
    )


def seed_cache(source: Path, target: Path) -> None:
    """A fresh cache holding only the stored Q/K and token table (hard links: no copy)."""
    for kind in ("qk", "tokens"):
        for path in (source / kind).rglob("*"):
            if path.is_file():
                link = target / path.relative_to(source)
                link.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, link)


def _warm_numba(pool: Any) -> None:
    """Every worker compiles UMAP's numba code before the clock starts."""
    from dashboard import worker_tasks

    futures = [
        pool.submit(worker_tasks.warm_numba, workers=[addr], allow_other_workers=False, pure=False)
        for addr in pool.nthreads()
    ]
    for future in futures:
        future.result()


def umap_run(pool: Any, subject: Any, corpus: Any, settings: Any, label: str) -> ScaleRun:
    from bench.matrix import request_matrix
    from dashboard.cache_keys import MapParams

    _warm_numba(pool)
    load = load_average()
    params = MapParams("umap", seed=settings.seed)
    run = request_matrix(pool, subject, corpus, params, label, None, len(subject.heads()))
    return ScaleRun(
        label, run.n_workers, run.completed, run.done_s, load=f"{load} → {load_average()}"
    )


def differing_heads(subject: Any, settings: Any, reference: str, other: str) -> int:
    """Heads whose UMAP map in cache `other` is not bit for bit the one in `reference` (a
    missing map counts as differing)."""
    from dashboard.cache_keys import MapParams
    from dashboard.store import Store

    params = MapParams("umap", seed=settings.seed)
    differ = 0
    for layer, head in subject.heads():
        key = subject.coords_key(layer, head, params)
        ours, theirs = Store(reference).load(key), Store(other).load(key)
        same = ours is not None and theirs is not None
        differ += not (same and np.array_equal(ours[0]["coords"], theirs[0]["coords"]))
    return differ


def measure_scale(
    root: Path,
    source: Path,
    settings: Any,
    subject: Any,
    corpus: Any,
    per_layer: int,
    runs: list[ScaleRun],
    saved: Callable[[], None],
) -> None:
    """Appends each run to `runs` as it ends, then calls `saved` (a long run keeps its parts)."""
    from bench.matrix import SampledJob, spread
    from dashboard import dask_pool
    from dashboard.cache_keys import Subject
    from tests.deploy.servers import Services, start_dask_pool

    fields = {name: getattr(subject, name) for name in Subject.__dataclass_fields__}
    sample = tuple(spread(subject.model, per_layer))

    def fresh(name: str) -> Any:
        cache = root / name
        seed_cache(source, cache)
        return SampledJob(**{**fields, "cache_dir": str(cache)}, sample=sample)

    local = fresh("umap-local")
    log(f"bigmodel: UMAP of {len(sample)} heads on a LocalCluster")
    pool = dask_pool.client(dask_pool.start_local_cluster(settings))
    try:
        runs.append(umap_run(pool, local, corpus, settings, "LocalCluster"))
        saved()
    finally:
        pool.close()
        dask_pool.stop_local_cluster()
    for n in (1, 2):
        job = fresh(f"umap-dask-{n}")
        services = Services(root / f"logs-{n}")
        (root / f"logs-{n}").mkdir()
        env = {**os.environ, "QKATLAS_CACHE_DIR": job.cache_dir, "QKATLAS_WARM_UMAP": "0"}
        env.pop(dask_pool.ADDRESS_ENV, None)  # the stopped LocalCluster's, set by its start
        log(f"bigmodel: UMAP of {len(sample)} heads on `dask scheduler` + {n} `dask worker`")
        try:
            address = start_dask_pool(services, env, workers=n)
            pool = dask_pool.client(address)
            try:
                run = umap_run(pool, job, corpus, settings, f"`dask worker --nworkers {n}`")
            finally:
                pool.close()
        finally:
            services.stop_all()
        run.differ = differing_heads(job, settings, local.cache_dir, job.cache_dir)
        runs.append(run)
        saved()


def measure_bigmodel(
    root: Path,
    n_tokens: int = 20_000,
    repeats: int = 1,
    per_layer: int = 1,
    shape: dict[str, int] = BERT_BASE,
    keep: Callable[[BigModelResult], None] = lambda result: None,
) -> BigModelResult:
    """Everything above; per_layer 0 skips the scale-out. `keep` gets the result as soon as
    the cold part is measured, and again after each scale-out run (to save it)."""
    from dashboard.cache_keys import make_subject
    from dashboard.models.registry import discover, fingerprint

    model_dirs = root / "models"
    build_model(model_dirs, shape)
    settings = bench_settings(root / "cache", model_dirs, n_tokens, warm_umap=False)
    spec = discover(settings.model_dirs).get(f"local/{MODEL_NAME}")  # the app's allowlist
    corpus = big_corpus(settings, spec, n_tokens)
    subject = make_subject(
        spec, fingerprint(spec), corpus, str(settings.cache_dir), settings.limits.max_tokens
    )
    result = measure_cold(root, settings, spec, subject, corpus, repeats)

    def saved() -> None:
        result.load_after = load_average()
        keep(result)

    saved()
    if per_layer > 0:
        result.heads_sample = f"{per_layer} per layer ({per_layer * spec.n_layers} heads)"
        measure_scale(
            root, settings.cache_dir, settings, subject, corpus, per_layer, result.scale, saved
        )
    return result
