"""`python -m bench.run [--quick]`: measures QK Atlas end to end and writes bench/results.md.

Sections (each in a fresh temporary cache directory unless noted):
1. `import app` in fresh interpreters;
2. cold 72-head matrices through LocalCluster + run_matrix for PCA, t-SNE and UMAP
   (`--quick`: t-SNE/UMAP on layer 0 only, extrapolated and labelled as such);
3. the projection libraries called directly on one real head, vs the pipeline per head;
4. Q/K extraction vs a bare forward pass;
5. the matrix and single-head figure callbacks on the cached PCA head (bytes on the wire);
6. t-SNE: the same fit alone, in two processes, in Dask workers; previous vs current settings;
7. a BERT-base-shaped encoder (random weights) on 20,000 tokens: streamed extraction's worker
   RSS, extraction ÷ forward, the cold 144-head PCA matrix; UMAP maps on LocalCluster vs
   `dask scheduler` + `dask worker` (1 and 2 processes). `--only bigmodel` writes
   bench/results-bigmodel.md (the other sections' bench/results.md stays).
8. cancel and memory: a cancelled matrix's workers free again; the web process's RSS over 100
   matrices of different corpora (`--only cancel-memory` writes bench/results-cancel-memory.md).
9. the browser: the warm default matrix and a head click in headless Chromium, vs a static page
   drawing the same figure (bench/browser.py).

A partial run (`--only`) writes bench/results-<sections>.md unless --output says otherwise:
bench/results.md holds a whole run, never a few sections of one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import report
from bench.machine import DIGEST_ROW, code_digest, describe
from bench.timing import load_average, log


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="t-SNE/UMAP matrices on layer 0 only (12 heads), extrapolated to 72",
    )
    parser.add_argument(
        "--tsne-budget",
        type=float,
        default=9.0,
        metavar="MIN",
        help="minutes the cold t-SNE matrix may run before it is stopped and extrapolated "
        "(0: no limit; default 9)",
    )
    parser.add_argument(
        "--umap-budget",
        type=float,
        default=6.0,
        metavar="MIN",
        help="the same for the cold UMAP matrix (default 6)",
    )
    parser.add_argument(
        "--bigmodel-tokens",
        type=int,
        default=20_000,
        metavar="N",
        help="tokens of section 7's corpus (default 20,000; fewer for a quick check)",
    )
    parser.add_argument(
        "--bigmodel-repeats",
        type=int,
        default=1,
        metavar="N",
        help="section 7: bare forward / extraction pairs timed (default 1)",
    )
    parser.add_argument(
        "--bigmodel-umap-per-layer",
        type=int,
        default=1,
        metavar="N",
        help="section 7's scale-out: UMAP maps of N heads per layer (default 1: 12 heads; "
        "0 skips the scale-out)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="markdown file to write (default: bench/results.md for a whole run, "
        "bench/results-<sections>.md for --only)",
    )
    parser.add_argument(
        "--cancel-repeats",
        type=int,
        default=5,
        metavar="N",
        help="Cancels per method in the cancel-memory section (default 5)",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        metavar="LIST",
        help=f"comma-separated sections to run, of {', '.join(SECTIONS)} (default: all; "
        "figures, bare, extraction and tsne read the PCA run's cache, so they bring pca along)",
    )
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = output_for(args.only.split(","))
    return args


SECTIONS = (
    "imports",
    "pca",
    "bare",
    "extraction",
    "figures",
    "tsne",
    "tsne-matrix",
    "umap-matrix",
    "bigmodel",
    "cancel-memory",
    "browser",
)


def output_for(sections: list[str]) -> Path:
    """bench/results.md for every section; a partial run's own file, so that it never
    overwrites a whole run's results."""
    if set(sections) >= set(SECTIONS):
        return report.RESULTS
    return report.RESULTS.with_name(f"results-{'-'.join(sections)}.md")


def _budget(minutes: float) -> float | None:
    return minutes * 60 if minutes > 0 else None


def measure_all(
    results: report.Results, root: Path, args: argparse.Namespace, save: Callable[[], None]
) -> None:
    from bench.bare import measure_bare
    from bench.browser import measure_browser
    from bench.cancel_memory import measure_cancel_memory
    from bench.extraction import measure_extraction
    from bench.figures import measure_figures
    from bench.importtime import measure_imports
    from bench.matrix import bench_subject, cold_matrix
    from bench.tsne import measure_tsne
    from dashboard.config import Settings

    quick = args.quick
    only = set(args.only.split(","))
    if only & {"bare", "extraction", "figures", "tsne"}:
        only.add("pca")
    # --quick: layer 0 only (12 heads). Full: every head, layer-interleaved, so that a run the
    # time budget stops has sampled every layer evenly.
    sampled = "first_layer" if quick else "interleaved"
    if "imports" in only:
        log("1/9 import time")
        results.imports = measure_imports(repeats=3)
        save()

    if "pca" in only:
        log("2/9 PCA matrix (cold, then the warm pool with a fresh cache)")
        results.matrices += cold_matrix("pca", root / "pca", warm_rerun_dir=root / "pca-warm")
        save()
        subject, corpus = bench_subject(root / "pca", Settings(cache_dir=root / "pca"))

    if "bare" in only:
        log("3/9 bare libraries on layer 0 head 0")
        results.bare = measure_bare(subject, root / "pca", {"pca": 5, "tsne": 0, "umap": 1})
        save()

    if "extraction" in only:
        log("4/9 extraction vs bare forward")
        results.extraction = measure_extraction(corpus.sentences)
        save()

    if "figures" in only:
        log("5/9 figure callbacks")
        results.figures = measure_figures(root / "pca")
        save()

    if "tsne" in only:
        log("6/9 t-SNE placement (alone, two processes, Dask workers) and settings")
        results.tsne = measure_tsne(subject, root / "pca")
        save()

    if "tsne-matrix" in only:
        log(f"2/9 (cont.) t-SNE matrix{' on layer 0' if quick else ''}")
        results.matrices += cold_matrix(
            "tsne", root / "tsne", heads=sampled, budget_s=_budget(args.tsne_budget)
        )
        save()

    if "umap-matrix" in only:
        log(
            f"2/9 (cont.) UMAP matrix{' on layer 0' if quick else ''}, then 12 heads on the warm "
            "pool"
        )
        results.matrices += cold_matrix(
            "umap",
            root / "umap",
            heads=sampled,
            warm_umap=True,
            budget_s=_budget(args.umap_budget),
            warm_rerun_dir=root / "umap-warm",
            warm_rerun_heads="spread",
        )
        save()

    if "bigmodel" in only:
        from bench.bigmodel import BigModelResult, measure_bigmodel

        log("7/9 BERT-base shape (random weights) on a big corpus; scale-out")

        def keep(result: BigModelResult) -> None:
            results.bigmodel = result
            save()

        measure_bigmodel(
            root / "bigmodel",
            args.bigmodel_tokens,
            args.bigmodel_repeats,
            args.bigmodel_umap_per_layer,
            keep=keep,
        )

    if "cancel-memory" in only:
        log("8/9 cancel (t-SNE, UMAP, t-SNE 3D) and the web process's memory")
        results.cancel_memory = measure_cancel_memory(root / "cancel-memory", args.cancel_repeats)
        save()

    if "browser" in only:
        log("9/9 the browser: warm default matrix and a head click vs a static page")
        results.browser = measure_browser(root / "browser")
        save()


def automatic_notes(results: report.Results, started: float, load_start: str) -> list[str]:
    notes = [
        f"Whole benchmark: {(time.perf_counter() - started) / 60:.1f} min; 1-minute load "
        f"average {load_start} at the start, {load_average()} at the end (anything else "
        "running on the 2 cores slows every number; compare ratios within one run)."
    ]
    pca = results.run("pca cold")
    if pca and results.extraction and pca.extraction_s:
        single = next((t for t in results.extraction.timings if t.threads == 1), None)
        if single:
            notes.append(
                f"Extraction inside a worker (from its sidecar, model already loaded): "
                f"{pca.extraction_s:.2f} s vs {single.extract_s:.2f} s in this process "
                "with one thread."
            )
    for method, bare in results.bare.items():
        if bare.warnings:
            notes.append(f"Bare {method} on layer 0 head 0 warned: " + "; ".join(bare.warnings))
    stopped = [r.label for r in results.matrices if r.stopped]
    if stopped:
        notes.append(
            f"Stopped by their time budget (see --tsne-budget / --umap-budget): "
            f"{', '.join(stopped)}; their 72-head times are extrapolated."
        )
    digest = code_digest()
    if digest != results.machine.get(DIGEST_ROW):
        notes.append(
            f"The app's source changed while the benchmark ran (digest {digest} at the end): "
            "sections may have measured different code."
        )
    missing = [r.label for r in results.matrices if r.missing and not r.stopped]
    if missing:
        notes.append(f"Heads missing from the store after the run: {', '.join(missing)}.")
    return notes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    command = " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])])
    results = report.Results(machine=describe(), quick=args.quick, command=command)
    if set(args.only.split(",")) == {"bigmodel"}:
        results.partial = (
            "**Partial run: section 7 (`bigmodel`) only**, written to its own file; the other "
            "sections' results are in bench/results.md."
        )
    started, load_start = time.perf_counter(), load_average()

    def save() -> None:
        report.write(results, args.output)

    try:
        with tempfile.TemporaryDirectory(prefix="qkatlas-bench-") as root:
            measure_all(results, Path(root), args, save)
        results.finished = True
    finally:
        results.notes = automatic_notes(results, started, load_start) + results.notes
        save()
        log(f"wrote {args.output}")
        for floor in report.floors(results):
            print(floor.line(), flush=True)
    return 0


if __name__ == "__main__":  # the guard matters: Dask's spawned workers re-import this module
    sys.exit(main())
