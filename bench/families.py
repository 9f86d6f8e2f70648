"""Benchmark of the three default models (issue 4) and of every view's figure callback (issue 5).

    python -m bench.families            # writes bench/results-families.md

Per model: load time (first = one-time conversion from the packaged file where there is one,
then cached), extraction throughput vs a bare forward pass, and the cold full PCA matrix on a
fresh worker pool after the conversion. Then each view's callback on cached data, with payload.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.machine import describe
from dashboard import catalog, dask_pool
from dashboard.cache_keys import MapParams
from dashboard.config import Settings
from dashboard.models.extract import extract_images, extract_text, image_batches, text_batches
from dashboard.models.families import family_for
from dashboard.models.loader import load
from dashboard.models.registry import DEFAULT_DECODER, DEFAULT_MODEL, DEFAULT_VISION

OUT = Path(__file__).with_name("results-families.md")
MODELS = ((DEFAULT_MODEL, "default"), (DEFAULT_DECODER, "default"), (DEFAULT_VISION, "images"))
FLOORS = {"decoder cached load": 5.0, "decoder PCA matrix": 90.0, "figure callback": 1.0}


@dataclass
class ModelRow:
    model: str
    heads: int
    tokens: int
    first_load: float
    cached_load: float
    forward_tps: float
    extract_tps: float
    matrix_s: float
    first_head_s: float


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _throughput(model, pre, spec, corpus) -> tuple[int, float, float]:
    """(tokens, bare forward tok/s, extraction tok/s) over the same batches."""
    family = family_for(spec.architecture)
    if corpus.modality == "image":
        batches = list(image_batches(pre, corpus.images, model.config))
        run = lambda: extract_images(model, pre, family, corpus.images)  # noqa: E731
    else:
        encoded = pre(list(corpus.sentences), truncation=True, max_length=512)["input_ids"]
        batches = list(text_batches(pre, encoded))
        run = lambda: extract_text(model, pre, family, corpus.sentences)  # noqa: E731
    tokens = sum(sum(lengths) for _, _, lengths in batches)
    with torch.inference_mode():
        forward, _ = _timed(lambda: [model(**inputs) for inputs, _, _ in batches])
    extraction, _ = _timed(run)
    return tokens, tokens / forward, tokens / extraction


def bench_model(model_id: str, corpus_id: str, root: Path) -> ModelRow:
    cache = root / model_id
    svc = catalog.configure(Settings(cache_dir=cache, warm_umap=False, prewarm=False))
    spec = svc.registry.get(model_id)
    first, _ = _timed(lambda: load(spec))  # converts bundled models once
    cached, (model, pre) = _timed(lambda: load(spec))
    subject, corpus = svc.subject(model_id, corpus_id)
    tokens, forward_tps, extract_tps = _throughput(model, pre, spec, corpus)
    del model
    # cold matrix after the conversion: fresh pool, fresh result cache, converted weights kept
    fresh = root / f"{model_id}-matrix"
    if spec.converter:
        (fresh / "models").mkdir(parents=True)
        shutil.copytree(Path(spec.path), fresh / "models" / Path(spec.path).name)
    settings = Settings(cache_dir=fresh, warm_umap=False, prewarm=False)
    svc = catalog.configure(settings)
    subject, corpus = svc.subject(model_id, corpus_id)
    started = time.perf_counter()
    first_head: list[float] = []

    def report(progress: dask_pool.Progress) -> None:
        if progress.done and not first_head:
            first_head.append(time.perf_counter() - started)

    address = dask_pool.start_local_cluster(settings, subject.model, subject.fingerprint)
    try:
        with dask_pool.client(address) as pool:
            dask_pool.run_matrix(pool, subject, corpus, MapParams(), report)
    finally:
        dask_pool.stop_local_cluster()
    matrix_s = time.perf_counter() - started
    return ModelRow(
        model_id,
        spec.n_layers * spec.n_heads,
        tokens,
        first,
        cached,
        forward_tps,
        extract_tps,
        matrix_s,
        first_head[0] if first_head else float("nan"),
    )


def _view_calls(request: dict) -> dict[str, Callable[[], object]]:
    from dashboard.views import head, matrix, sentence
    from dashboard.views.context import resolve

    view_head = {"view": "head", "layer": 1, "head": 2}
    view_sentence = {"view": "sentence", "layer": 1, "head": 2, "sentence": 3, "scope": "head"}
    view_layer = {**view_sentence, "scope": "layer"}
    return {
        "matrix": lambda: matrix.render(request, "role", None, False)[0],
        "single head": lambda: head.render(view_head, request, "role", None)[0],
        "links (hover)": lambda: head.links(resolve(request), 1, 2, 5, 2, 0.05)[0],
        "sentence / image": lambda: sentence.render(view_sentence, request, None)[0],
        "sentence / image, mean of the layer": lambda: sentence.render(view_layer, request, None)[
            0
        ],
    }


def bench_views(root: Path) -> list[tuple[str, float, int]]:
    """(view, seconds per call — median of 5 after one warm call, JSON bytes) on cached data."""
    from dashboard.views.request import resolve_request

    rows = []
    for model_id, corpus_id in MODELS:
        settings = Settings(cache_dir=root / f"{model_id}-matrix", warm_umap=False, prewarm=False)
        catalog.configure(settings)
        request = resolve_request(model_id, corpus_id, "pca", 2, ["translate", "scale"])
        for name, call in _view_calls(request).items():
            call()
            times = sorted(_timed(call)[0] for _ in range(5))
            payload = len(json.dumps(call(), default=str))
            rows.append((f"{model_id}: {name}", times[2], payload))
    return rows


def report(rows: list[ModelRow], views: list[tuple[str, float, int]], seconds: float) -> str:
    machine = describe()
    decoder = next(r for r in rows if r.model == DEFAULT_DECODER)
    slowest = max(t for _, t, _ in views)
    checks = [
        ("cached decoder load", decoder.cached_load, FLOORS["decoder cached load"]),
        (
            "decoder full PCA matrix (270 heads), cold after conversion",
            decoder.matrix_s,
            FLOORS["decoder PCA matrix"],
        ),
        ("slowest figure callback on cached data", slowest, FLOORS["figure callback"]),
    ]
    lines = [
        "# QK Atlas — benchmark of the three model families and of the views",
        "",
        f"Written by `python -m bench.families` on {machine.get('date', '')}; whole run {seconds:.0f} s.",
        f"Machine: {machine.get('CPU', '')}, {machine.get('cores', '')}, {machine.get('RAM', '')}; "
        f"torch {machine.get('torch', '')}, transformers {machine.get('transformers', '')}.",
        "Other work on the same 2 cores inflates every number: compare ratios within a run.",
        "",
        "## Floors",
        "",
        "| result | check | measured | floor |",
        "|---|---|---|---|",
        *[
            f"| {'PASS' if v <= f else 'FAIL'} | {name} | {v:.2f} s | ≤ {f:.0f} s |"
            for name, v, f in checks
        ],
        "",
        "## Models",
        "",
        "First load converts a bundled model from its packaged file (GGUF, ONNX) into the cache; "
        "cached is every later load. Extraction and a bare forward pass run over the same padded "
        "batches in this process. The matrix is PCA of every head on a fresh 2-worker pool with an "
        "empty result cache (the converted weights kept), from pool start to the last head.",
        "",
        "| model | heads | tokens | first load | cached load | forward tok/s | extract tok/s | extract ÷ forward | "
        "first head | full PCA matrix |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {r.model} | {r.heads} | {r.tokens:,} | {r.first_load:.1f} s | {r.cached_load:.1f} s | "
            f"{r.forward_tps:,.0f} | {r.extract_tps:,.0f} | {r.forward_tps / r.extract_tps:.2f}× slower | "
            f"{r.first_head_s:.1f} s | {r.matrix_s:.1f} s |"
            for r in rows
        ],
        "",
        "## Figure callbacks on cached data",
        "",
        "Median of 5 calls after a warm-up call (the first call of a process also loads the token "
        "table and builds hover text). Payload = JSON bytes of the figure.",
        "",
        "| callback | time | payload |",
        "|---|---|---|",
        *[f"| {name} | {t * 1000:.0f} ms | {size / 1e6:.2f} MB |" for name, t, size in views],
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="qk-bench-families-"))
    try:
        rows = [bench_model(model_id, corpus_id, root) for model_id, corpus_id in MODELS]
        views = bench_views(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = report(rows, views, time.perf_counter() - started)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
