"""Everything measured in one run, its floors, and bench/results.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.bare import BareTiming
from bench.bigmodel import (
    EXTRACT_RATIO_FLOOR,
    LABEL,
    PCA_COLD_FLOOR_S,
    RSS_FLOOR_GB,
    BigModelResult,
)
from bench.browser import APP, CLICK, BrowserResult
from bench.cancel_memory import (
    CANCEL_FLOOR_S,
    MEMORY_GROWTH_FLOOR_MB,
    CancelMemoryResult,
    CancelRun,
    MemoryRun,
)
from bench.extraction import ExtractionResult
from bench.figures import HEAD_WIRE_BUDGET, MATRIX_WIRE_BUDGET, FigureTiming
from bench.importtime import FORBIDDEN, ImportResult
from bench.matrix import MatrixRun
from bench.timing import Floor, median
from bench.tsne import TsneResult

RESULTS = Path(__file__).resolve().parent / "results.md"
RESULTS_BIGMODEL = RESULTS.with_name("results-bigmodel.md")  # `--only bigmodel` writes here
# `--only cancel-memory` writes here: results.md keeps the other sections' last full run
CANCEL_MEMORY = RESULTS.with_name("results-cancel-memory.md")
MATRIX_EXPLANATION = " ".join(
    [
        "`cold`: a fresh LocalCluster (2 workers × 1 thread, `start_local_cluster` with the",
        "default model to warm, as the app does) and a fresh cache directory; the request is",
        "sent the moment the cluster is up, so model load and extraction are on the clock.",
        "`warm pool`: the same workers afterwards (model loaded, numba compiled) with another",
        "fresh cache directory. UMAP runs use `warm_umap=True` (the app default: workers",
        "compile numba in a background thread at start, so the cold UMAP run includes the",
        "numba JIT); PCA and t-SNE use `warm_umap=False`. `first head` is the first head on",
        "screen (for t-SNE/UMAP that is its PCA stand-in); `pipeline s/head/worker` =",
        "projection-phase wall time ÷ heads × workers; `worker-side fit` is the estimator",
        "time each task recorded in its sidecar; `heads missing`: requested heads not in the",
        "store afterwards (expected after a budget stop, otherwise a bug).",
    ]
)
IMPORT_FLOOR_S = 2.0
PCA_MATRIX_FLOOR_S = 60.0
FIRST_HEAD_FLOOR_S = 5.0
TSNE_RATIO_FLOOR = 1.2  # pipeline per head ÷ the bare library on the same points
TSNE_MATRIX_FLOOR_S = 8 * 60.0  # the 72-head t-SNE matrix on 2 cores
TSNE_TRUST_DROP_FLOOR = 0.01  # trustworthiness@10 of any sample head vs the previous settings
UMAP_RATIO_FLOOR = 1.2
BROWSER_GAP_FLOOR_S = 0.5  # the app's warm matrix drawn − the static page's, same figure
BROWSER_MATRIX_FLOOR_S = 1.5  # the app's warm matrix drawn after navigation
HEAD_CLICK_FLOOR_S = 0.3  # a head click → its view drawn
# issue 12's goals that no section measures yet: each is a FAIL line until one does
NOT_MEASURED = ()


@dataclass
class Results:
    machine: dict[str, str]
    quick: bool
    command: str
    imports: ImportResult | None = None
    matrices: list[MatrixRun] = field(default_factory=list)
    bare: dict[str, BareTiming] = field(default_factory=dict)
    extraction: ExtractionResult | None = None
    figures: list[FigureTiming] = field(default_factory=list)
    tsne: TsneResult | None = None
    bigmodel: BigModelResult | None = None
    cancel_memory: CancelMemoryResult | None = None
    browser: BrowserResult | None = None
    notes: list[str] = field(default_factory=list)
    finished: bool = False
    partial: str = ""  # a run of some sections written to a file of its own: says which

    def run(self, label: str) -> MatrixRun | None:
        return next((r for r in self.matrices if r.label == label), None)


def _s(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or value != value else f"{value:.{digits}f} s"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def floors(results: Results) -> list[Floor]:
    out = []
    if results.imports:
        out.append(
            Floor(
                "`import app` in a fresh interpreter (median)",
                results.imports.median_s,
                IMPORT_FLOOR_S,
                "s",
            )
        )
        out.append(
            Floor(
                f"{'/'.join(FORBIDDEN)} loaded by `import app`",
                float(len(results.imports.forbidden_loaded)),
                0,
                "modules",
                ", ".join(results.imports.forbidden_loaded) or "none",
            )
        )
    pca = results.run("pca cold")
    if pca:
        out.append(
            Floor(
                "PCA cold full matrix, cluster start → all heads (model load + extraction "
                "included)",
                pca.full_from_start_s,
                PCA_MATRIX_FLOOR_S,
                "s",
            )
        )
    for label in ("pca cold", "tsne cold", "umap cold", "pca warm pool"):
        run = results.run(label)
        if run:
            out.append(
                Floor(
                    f"first head ready after the request, {label} (a PCA stand-in counts)",
                    run.first_visible_s,
                    FIRST_HEAD_FLOOR_S,
                    "s",
                )
            )
    out += _tsne_floors(results)
    umap, bare = results.run("umap warm pool"), results.bare.get("umap")
    if umap and bare:
        out.append(
            Floor(
                "UMAP pipeline s/head/worker ÷ bare library (warm pool, bare steady)",
                umap.per_head_pipeline_s / bare.steady_s,
                UMAP_RATIO_FLOOR,
                "×",
            )
        )
    for figure in results.figures:
        matrix = figure.name.startswith("matrix")
        out.append(
            Floor(
                f"{figure.name}: bytes on the wire per drawn point"
                + ("" if matrix else ", the corpus's hover table included (first head)"),
                (figure.wire_bytes + figure.once_wire_bytes) / max(figure.n_points, 1),
                MATRIX_WIRE_BUDGET if matrix else HEAD_WIRE_BUDGET,
                "B",
            )
        )
    if results.bigmodel:
        out += _bigmodel_floors(results.bigmodel)
    if results.cancel_memory:
        out += _cancel_memory_floors(results.cancel_memory)
    if results.browser or not results.partial:  # a partial run lists only what it measured
        out += _browser_floors(results.browser)
    if not results.partial:
        out += [Floor(check, None, limit, unit) for check, limit, unit in NOT_MEASURED]
    return out


def _bigmodel_floors(big: BigModelResult) -> list[Floor]:
    shape = f"BERT-base shape ({LABEL}), {big.n_tokens:,} tokens"
    out = [
        Floor(
            f"{shape}: worker peak RSS through the streamed extraction (VmHWM, model load "
            "included)",
            big.peak_gb,
            RSS_FLOOR_GB,
            "GB",
        ),
        Floor(
            f"{shape}: extraction + storing ÷ a bare forward pass (the same worker, "
            f"{big.threads} torch threads, median)",
            big.ratio,
            EXTRACT_RATIO_FLOOR,
            "×",
        ),
        Floor(
            f"{shape}: {big.n_layers * big.n_heads}-head PCA matrix, cold (cluster start → "
            "all heads, extraction included)",
            big.pca_cold_s,
            PCA_COLD_FLOOR_S,
            "s",
        ),
    ]
    if big.scale:
        out.append(
            Floor(
                f"{shape}: UMAP maps on `dask scheduler` + `dask worker` (1 and 2 worker "
                f"processes) ≠ LocalCluster's, {big.heads_sample}",
                big.differing,
                0,
                "heads",
            )
        )
    return out


def _cancel_memory_floors(result: CancelMemoryResult) -> list[Floor]:
    out = [
        Floor(
            f"cancelled {run.label} matrix: workers free again, worst of {len(run.reps)}"
            + (" (stopped repeating: far over the floor)" if run.given_up else ""),
            run.max_s if run.reps else None,
            CANCEL_FLOOR_S,
            "s",
        )
        for run in result.cancels
    ]
    memory = result.memory
    out.append(
        Floor(
            "web process RSS growth over 100 matrix requests of different corpora (after "
            f"the first {memory.warmup if memory else 10})",
            memory.growth_mb if memory else None,
            MEMORY_GROWTH_FLOOR_MB,
            "MB",
        )
    )
    return out


def _browser_floors(browser: BrowserResult | None) -> list[Floor]:
    """issue 12's browser goals: a line each, "not measured" when the section did not run."""

    def med(name: str) -> float | None:
        timing = browser.timing(name) if browser else None
        return timing.median if timing else None

    return [
        Floor(
            "warm default matrix drawn in headless Chromium: the app − a static page drawing "
            "the same figure with the same plotly.js (medians of navigations)",
            browser.app_minus_floor() if browser else None,
            BROWSER_GAP_FLOOR_S,
            "s",
        ),
        Floor(
            "warm default matrix drawn, navigation → every point (headless Chromium, median)",
            med(APP),
            BROWSER_MATRIX_FLOOR_S,
            "s",
        ),
        Floor(
            "head click → its view drawn with every point (headless Chromium, median)",
            med(CLICK),
            HEAD_CLICK_FLOOR_S,
            "s",
        ),
    ]


def _tsne_floors(results: Results) -> list[Floor]:
    out = []
    run, tsne = results.run("tsne cold"), results.tsne
    if run and tsne and tsne.settings:
        bare = median(list(tsne.settings[-1].seconds.values()))
        out.append(
            Floor(
                "t-SNE pipeline s/head/worker ÷ bare library on the same sample heads (median)",
                run.per_head_pipeline_s / bare,
                TSNE_RATIO_FLOOR,
                "×",
            )
        )
        concurrent = tsne.placement("two processes at once")
        if concurrent:
            alone = tsne.placement("this process alone (1 BLAS thread)") or concurrent
            out.append(
                Floor(
                    "t-SNE pipeline s/head/worker ÷ bare library sharing the 2 cores as the "
                    "workers do (two processes at once; sample-head median scaled by it)",
                    run.per_head_pipeline_s / (bare * concurrent / alone),
                    TSNE_RATIO_FLOOR,
                    "×",
                )
            )
    if run:
        out.append(
            Floor(
                "72-head t-SNE matrix, request → all heads (extrapolated after a budget stop)",
                run.full_done_s,
                TSNE_MATRIX_FLOOR_S,
                "s",
            )
        )
    if tsne and tsne.worst_trust_drop() is not None:
        out.append(
            Floor(
                "t-SNE trustworthiness@10 drop vs the previous settings, worst sample head",
                tsne.worst_trust_drop(),
                TSNE_TRUST_DROP_FLOOR,
                "",
            )
        )
    return out


def _tsne(tsne: TsneResult) -> list[str]:
    placements = [
        [p.label, ", ".join(_s(s, 1) for s in p.seconds), ", ".join(f"{f:,}" for f in p.faults)]
        for p in tsne.placements
    ]
    heads = list(tsne.settings[0].seconds) if tsne.settings else []
    settings = [
        [
            f"{run.label}: {run.params}",
            *[f"{_s(run.seconds[h], 1)}, T@10 {run.trust[h]:.4f}" for h in heads],
        ]
        for run in tsne.settings
    ]
    lines = ["## 6. t-SNE: placement and settings", "", *(_tsne_doc())]
    if placements:
        lines += [
            "",
            *_table(["where the fit runs", "seconds per fit", "minor page faults"], placements),
        ]
        if tsne.identical is not None:
            lines += [
                "",
                "The worker's map equals this process's bit for bit: "
                + ("yes." if tsne.identical else "**no**."),
            ]
    if settings:
        lines += ["", *_table(["settings", *heads], settings)]
        if tsne.speedup():
            lines += ["", f"Current ÷ previous time on these heads: {1 / tsne.speedup():.2f}×."]
    lines += ["", f"Load average {tsne.load_before} → {tsne.load_after}."]
    return lines


def _tsne_doc() -> list[str]:
    import bench.tsne

    return [" ".join((bench.tsne.__doc__ or "").split())]


def _machine(results: Results) -> list[str]:
    return ["## Machine", "", *_table(["", ""], [[k, v] for k, v in results.machine.items()])]


def _floors(results: Results) -> list[str]:
    rows = [[f.verdict, f.check, f.measured(), f"≤ {f.limit:g} {f.unit}"] for f in floors(results)]
    return ["## Floors", "", *_table(["result", "check", "measured", "floor"], rows)]


def _imports(imports: ImportResult) -> list[str]:
    rows = [
        [str(i + 1), _s(r.seconds, 2), _s(r.process_s, 2), ", ".join(r.modules) or "none"]
        for i, r in enumerate(imports.runs)
    ]
    return [
        "## 1. `import app`",
        "",
        "A fresh interpreter per run, `QKATLAS_CACHE_DIR` set to an empty temporary directory. "
        "`import app` builds the Dash app *and starts the LocalCluster* (as `make run` does), so "
        "this is the time to a servable app; the workers load the model in their own processes.",
        "",
        *_table(
            ["run", "`import app`", "whole subprocess (start → exit)", "watched modules loaded"],
            rows,
        ),
        "",
        f"Median {_s(imports.median_s, 2)}. Forbidden modules ({', '.join(FORBIDDEN)}) in "
        f"`sys.modules`: {', '.join(imports.forbidden_loaded) or 'none'}.",
    ]


def _fit_range(fits: list[float]) -> str:
    if not fits:
        return "—"
    return f"{median(fits):.2f} s ({min(fits):.2f}–{max(fits):.2f})"


def _ratio(value: float | None, base: float) -> str:
    return "—" if value is None or not base else f"{value / base:.2f}×"


def _matrix_row(run: MatrixRun) -> list[str]:
    heads = f"{run.n_heads} of {run.total_heads}"
    if run.stopped:
        heads += f" (budget: {run.completed} done)"
    mark = " (extrapolated)" if run.extrapolated else ""
    full = _s(run.full_done_s) + mark
    from_start = _s(run.full_from_start_s) + mark if run.cluster_start_s is not None else "—"
    return [
        run.label,
        heads,
        run.heads,
        f"{run.n_points:,}",
        _s(run.cluster_start_s),
        _s(run.projecting_s),
        _s(run.first_visible_s),
        _s(run.first_final_s),
        _s(run.done_s),
        full,
        from_start,
        _s(run.per_head_pipeline_s, 2),
        _fit_range(run.fit_s),
        f"{run.load_before} → {run.load_after}",
        str(run.missing),
    ]


def _matrices(results: Results) -> list[str]:
    header = [
        "run",
        "heads requested",
        "which heads",
        "points/head",
        "cluster start",
        "request → extraction done",
        "request → first head",
        "request → first head of the method",
        "request → all requested (or budget stop)",
        "request → all 72",
        "cluster start → all 72",
        "pipeline s/head/worker",
        "worker-side fit: median (min–max)",
        "load avg before → after",
        "heads missing",
    ]
    lines = [
        "## 2. Head matrix through the pipeline",
        "",
        MATRIX_EXPLANATION,
        "",
        *_table(header, [_matrix_row(r) for r in results.matrices]),
    ]
    if any(r.extrapolated for r in results.matrices):
        lines += [
            "",
            "Runs with fewer than 72 heads done — a subset requested (`--quick`: layer 0; the "
            "warm-pool UMAP check: 2 heads per layer) or stopped by their time budget (`budget: "
            "n done`; these request every head layer-interleaved, so a stop samples every layer) "
            "— have *extrapolated* 72-head times: request → extraction done + projection phase "
            "× 72 / heads done. For a cold UMAP run that scales the one-off numba JIT too, so it "
            "overestimates; after a budget stop the heads still in flight count as not done, "
            "another (small) overestimate. Layer 0 is atypical (duplicate points: UMAP's "
            "spectral initialisation fails there and falls back to random), so a layer-0-only "
            "sample is biased.",
        ]
    return lines


def _like_for_like(run: MatrixRun, bare: BareTiming) -> float:
    """In a cold pool L0 H0 is a worker's first fit (import, JIT): compare the bare first call."""
    return bare.first_s if run.cluster_start_s is not None else bare.steady_s


def _bare(results: Results) -> list[str]:
    runs = {"pca": ["pca cold"], "tsne": ["tsne cold"], "umap": ["umap cold", "umap warm pool"]}
    rows = []
    for method, bare in results.bare.items():
        for label in runs.get(method, []):
            run = results.run(label)
            if run is None:
                continue
            rows.append(
                [
                    label,
                    f"{bare.n_points:,}",
                    _s(bare.first_s, 3),
                    _s(bare.steady_s, 3),
                    _s(run.per_head_pipeline_s, 3),
                    _fit_range(run.fit_s),
                    _s(run.first_head_fit_s, 3),
                    _ratio(run.per_head_pipeline_s, bare.steady_s),
                    _ratio(median(run.fit_s) if run.fit_s else None, bare.steady_s),
                    _ratio(run.first_head_fit_s, _like_for_like(run, bare)),
                ]
            )
    return [
        "## 3. Bare libraries vs the pipeline",
        "",
        "Bare: `Projector(method, 2, seed=0).fit_transform` in this process (same estimator, "
        "parameters and thread settings as a worker) on layer 0 head 0's joint points from the "
        "store, with no cluster running. `first call` includes the library import (and numba JIT "
        "for UMAP); `steady` is the median of the later calls. Pipeline per head = "
        "projection-phase wall time ÷ heads × workers, i.e. what one worker spends per head "
        "including Dask scheduling, loading Q/K, `joint_points`, the fit and the npz write. "
        "Ratio 1 = no overhead. Heads differ (see the min–max), so the same-head column is the "
        "like-for-like one: in a cold pool L0 H0 is each worker's first fit (library import, "
        "numba JIT for UMAP), so it is compared with the bare *first* call; in a warm pool with "
        "the bare steady time.",
        "",
        *_table(
            [
                "pipeline run",
                "points",
                "bare first call",
                "bare steady",
                "pipeline s/head/worker",
                "worker-side fit: median (min–max) over heads",
                "worker-side fit, L0 H0",
                "pipeline ÷ bare",
                "worker fit median ÷ bare",
                "same head (L0 H0): worker ÷ bare",
            ],
            rows,
        ),
    ]


def _extraction(result: ExtractionResult) -> list[str]:
    rows = [
        [
            str(t.threads),
            f"{t.n_tokens:,}",
            _s(t.forward_s, 3),
            f"{t.forward_tps:,.0f}",
            _s(t.extract_s, 3),
            f"{t.extract_tps:,.0f}",
            f"{t.ratio:.2f}×",
        ]
        for t in result.timings
    ]
    return [
        "## 4. Extraction vs a bare forward pass",
        "",
        f"Default model loaded with `dashboard.models.loader.load` in {_s(result.load_s, 2)}; "
        f"{result.n_sentences} sentences of the default corpus, batches of 32 sorted by length, "
        "padded, `torch.inference_mode()`; tokenization on both sides; median of 3 interleaved "
        "runs after a warm-up. Workers run with one torch thread (the Dask nanny sets "
        "OMP_NUM_THREADS=1), so the 1-thread row is what the pipeline gets.",
        "",
        *_table(
            [
                "torch threads",
                "tokens",
                "forward",
                "forward tok/s",
                "extract",
                "extract tok/s",
                "extract ÷ forward",
            ],
            rows,
        ),
    ]


def _figures(figures: list[FigureTiming]) -> list[str]:
    rows = [
        [
            f.name,
            f"{f.n_points:,}",
            _ms(f.first_ms),
            _ms(f.steady_ms),
            f"{f.json_bytes:,}",
            f"{f.plotly_json_bytes:,}",
            _ms(f.serialize_ms),
            f"{f.wire_bytes:,} ({f.wire_per_point:.1f} B/point)",
            _ms(f.compress_ms),
            f"{f.once_wire_bytes:,}" if f.once_wire_bytes else "—",
        ]
        for f in figures
    ]
    return [
        "## 5. Figure callbacks (cached PCA head)",
        "",
        "`dashboard.views.matrix.render` and `dashboard.views.head.render` for "
        "`resolve_request('minilm', 'default', 'pca', 2, ['translate', 'scale'])`, colour "
        "`role`, with the PCA run's cache. First call loads the token table (and builds the hover "
        "text for the head view); steady = median of 5 later calls (each reloads the npz files). "
        "On the wire: the plotly JSON gzipped as the app sends it (dashboard/compression.py). "
        "The head figure has no per-point text: the corpus's hover table goes once, with the "
        "first head (last column); the browser joins it to the points' ids.",
        "",
        *_table(
            [
                "figure",
                "points",
                "first call",
                "steady",
                "json.dumps bytes",
                "plotly JSON bytes (what Dash sends)",
                "plotly to_json",
                "on the wire (gzip)",
                "gzip time",
                "sent once per corpus (wire)",
            ],
            rows,
        ),
    ]


def _bigmodel(big: BigModelResult) -> list[str]:
    import bench.bigmodel

    gb = lambda b: f"{b / 1e9:.2f} GB"  # noqa: E731
    rows = [
        [
            "model",
            f"`{big.model_id}`: {big.n_layers} layers × {big.n_heads} heads, d_head "
            f"{big.head_dim}, {big.n_params / 1e6:.0f}M parameters — **{LABEL}**",
        ],
        ["corpus", f"{big.n_sentences} sentences, {big.n_tokens:,} tokens"],
        ["cluster start (2 workers, this model warming)", _s(big.cluster_start_s)],
        ["extraction task, sent → stored", _s(big.extraction_s)],
        [
            "worker peak RSS after extraction (VmHWM per worker)",
            ", ".join(gb(v) for v in big.peak_rss.values()),
        ],
        ["bare forward pass (same worker)", ", ".join(_s(v, 1) for v in big.forward_s)],
        ["extraction + storing (same worker)", ", ".join(_s(v, 1) for v in big.extract_store_s)],
        [
            "extraction + storing ÷ forward (medians)",
            "—" if big.ratio is None else f"{big.ratio:.2f}×",
        ],
        [f"PCA request → all {big.n_layers * big.n_heads} heads", _s(big.pca_s)],
        ["cluster start → all heads (start + extraction + PCA)", _s(big.pca_cold_s)],
        [
            "worker peak RSS after the PCA matrix (VmHWM per worker)",
            ", ".join(gb(v) for v in big.rss_after_pca.values()),
        ],
        ["load average before → after", f"{big.load_before} → {big.load_after}"],
    ]
    lines = [
        f"## 7. BERT-base shape on {big.n_tokens:,} tokens; scale-out",
        "",
        " ".join((bench.bigmodel.__doc__ or "").split()),
        "",
        *_table(["", ""], rows),
    ]
    if big.scale:
        scale = [
            [
                r.label,
                str(r.n_workers),
                str(r.heads),
                _s(r.phase_s),
                f"{r.heads_per_minute:.1f}",
                "reference" if r.differ is None else str(r.differ),
                r.load,
            ]
            for r in big.scale
        ]
        lines += [
            "",
            f"UMAP maps of {big.heads_sample} (seeded; Q/K already stored):",
            "",
            *_table(
                [
                    "pool",
                    "worker processes",
                    "heads",
                    "request → all maps",
                    "heads per minute",
                    "maps ≠ LocalCluster's",
                    "load avg before → after",
                ],
                scale,
            ),
        ]
    return lines


def _browser(browser: BrowserResult) -> list[str]:
    import bench.browser

    rows = [
        [t.name, str(t.n), _s(t.median, 2), _s(t.low, 2), _s(t.high, 2)] for t in browser.timings
    ]
    gap = browser.app_minus_floor()
    lines = [
        "## 9. The browser (headless Chromium)",
        "",
        " ".join((bench.browser.__doc__ or "").split()),
        "",
        *_table(
            ["", ""],
            [
                ["browser", browser.chromium],
                ["WebGL renderer", browser.webgl],
                ["matrix points drawn", f"{browser.n_points:,}"],
                ["single-head view points", f"{browser.head_points:,}"],
                ["plotly.js (both pages)", browser.plotly_js],
                ["figure JSON (the static page's figure.json)", f"{browser.figure_bytes:,} bytes"],
                ["graph box", f"{browser.box[0]} × {browser.box[1]} px"],
                ["load average before → after", f"{browser.load_before} → {browser.load_after}"],
            ],
        ),
        "",
        *_table(["measurement", "n", "median", "min", "max"], rows),
    ]
    if gap is not None:
        lines += ["", f"App − static page (medians): {gap:.2f} s."]
    for name, milestones in browser.breakdown.items():
        lines += [
            "",
            f"Where the time goes, {name} (its median navigation; ms after navigation start):",
            "",
            *_table(["milestone", "ms"], [[what, f"{ms:,.0f}"] for what, ms in milestones]),
        ]
    return lines


def _cancel_row(run: CancelRun) -> list[str]:
    reps = ", ".join("timeout" if r.free_s is None else f"{r.free_s:.2f}" for r in run.reps)
    return [
        run.label,
        f"{run.n_points:,}",
        str(len(run.reps)) + (" (given up)" if run.given_up else ""),
        ", ".join(f"{r.delay_s:g}" for r in run.reps),
        reps + " s",
        _s(run.median_s, 2),
        _s(run.max_s, 2),
        f"{sum(r.stored_anyway for r in run.reps)} of {sum(r.fitting for r in run.reps)}",
        f"{run.load_before} → {run.load_after}",
    ]


def _memory(memory: MemoryRun) -> list[str]:
    rows = [[str(done), f"{rss:.1f}"] for done, rss in memory.samples]
    figures = sorted(memory.figure_bytes)
    growth = memory.growth_mb
    return [
        "",
        f"Memory: {memory.n_requests} requests of {memory.n_requests} different pasted corpora "
        f"({memory.sentences} sentences, {min(memory.points):,}–{max(memory.points):,} points "
        f"drawn per head), PCA, in {memory.seconds:.0f} s; load average {memory.load_before} → "
        f"{memory.load_after}. A matrix figure's plotly JSON: {median(figures) / 1e6:.2f} MB "
        f"(median), so keeping one per request would add ~"
        f"{median(figures) * (memory.n_requests - memory.warmup) / 1e6:.0f} MB over the "
        "measured requests.",
        "",
        *_table(["requests done", "web process RSS (MiB)"], rows),
        "",
        f"Growth after the warm-up ({memory.warmup} requests → {memory.n_requests}): "
        + ("—" if growth is None else f"{growth:+.1f} MiB")
        + ". In-memory caches at the end (entries / bound): "
        + "; ".join(f"{name} {size}" for name, size in memory.cache_sizes.items())
        + ".",
    ]


def _cancel_memory(result: CancelMemoryResult) -> list[str]:
    import bench.cancel_memory

    header = [
        "matrix",
        "points/head",
        "Cancels",
        "delay after every worker fits (s)",
        "kill → every worker free, each Cancel",
        "median",
        "max",
        "heads fitting at the Cancel that were stored anyway",
        "load avg before → after",
    ]
    lines = [
        "## 8. Cancel and memory",
        "",
        " ".join((bench.cancel_memory.__doc__ or "").split()),
        "",
        *_table(header, [_cancel_row(run) for run in result.cancels]),
    ]
    if result.memory:
        lines += _memory(result.memory)
    elif result.memory_error:
        lines += ["", f"Memory: not measured ({result.memory_error})."]
    return lines


def to_markdown(results: Results) -> str:
    mode = "partial" if results.partial else "quick (`--quick`)" if results.quick else "full"
    state = "" if results.finished else "\n**Partial: the run has not finished (or it failed).**\n"
    lines = [
        "# QK Atlas benchmark results",
        "",
        f"Written by `{results.command}` — {mode} run, {results.machine.get('date', '')}.",
        state,
        *([results.partial, ""] if results.partial else []),
        *_machine(results),
        "",
        *_floors(results),
    ]
    if results.imports:
        lines += ["", *_imports(results.imports)]
    if results.matrices:
        lines += ["", *_matrices(results)]
    if results.bare:
        lines += ["", *_bare(results)]
    if results.extraction:
        lines += ["", *_extraction(results.extraction)]
    if results.figures:
        lines += ["", *_figures(results.figures)]
    if results.tsne:
        lines += ["", *_tsne(results.tsne)]
    if results.bigmodel:
        lines += ["", *_bigmodel(results.bigmodel)]
    if results.cancel_memory:
        lines += ["", *_cancel_memory(results.cancel_memory)]
    if results.browser:
        lines += ["", *_browser(results.browser)]
    if results.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in results.notes]]
    return "\n".join(lines) + "\n"


def write(results: Results, path: Path = RESULTS) -> None:
    path.write_text(to_markdown(results), encoding="utf-8")
