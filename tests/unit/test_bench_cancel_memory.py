"""The cancel-memory benchmark's pure parts: its corpora, its verdicts, where it writes."""

from __future__ import annotations

from bench import report
from bench.cancel_memory import (
    CANCEL_FLOOR_S,
    MEMORY_GROWTH_FLOOR_MB,
    CancelMemoryResult,
    CancelRep,
    CancelRun,
    MemoryRun,
    corpus_text,
)
from bench.run import parse_args


def test_each_request_pastes_a_corpus_of_its_own_the_same_every_run():
    texts = [corpus_text(i, sentences=7) for i in range(1, 101)]
    assert len(set(texts)) == len(texts)
    assert texts[41] == corpus_text(42, sentences=7)
    assert all(len(t.splitlines()) == 7 for t in texts)


def _run(*free: float | None) -> CancelRun:
    reps = [CancelRep(0.3, t, [] if t is None else [t], 2, 0) for t in free]
    return CancelRun("t-SNE 2D", "tsne", 2, 1000, reps)


def _memory(rss_at_warmup: float, rss_at_end: float) -> MemoryRun:
    return MemoryRun(
        samples=[(0, 300.0), (10, rss_at_warmup), (50, rss_at_warmup), (100, rss_at_end)],
        warmup=10,
        n_requests=100,
        sentences=20,
        points=[500, 520],
        figure_bytes=[400_000, 410_000],
        cache_sizes={"matrix figures (_FIGURES)": "8 / 8"},
        seconds=60.0,
    )


def _verdicts(result: CancelMemoryResult) -> dict[str, str]:
    results = report.Results(machine={}, quick=False, command="test", cancel_memory=result)
    return {f.check: f.verdict for f in report.floors(results)}


def test_the_worst_cancel_decides_and_one_that_never_frees_the_workers_fails():
    fast = _run(0.2 * CANCEL_FLOOR_S, 0.5 * CANCEL_FLOOR_S)
    stuck = _run(0.1 * CANCEL_FLOOR_S, None)
    assert stuck.max_s == float("inf") and stuck.median_s == float("inf")
    verdicts = _verdicts(CancelMemoryResult(cancels=[fast]))
    assert [v for c, v in verdicts.items() if c.startswith("cancelled")] == ["PASS"]
    verdicts = _verdicts(CancelMemoryResult(cancels=[stuck]))
    assert [v for c, v in verdicts.items() if c.startswith("cancelled")] == ["FAIL"]


def test_memory_growth_counts_from_the_end_of_the_warm_up():
    flat = _memory(400.0, 400.0 + MEMORY_GROWTH_FLOOR_MB / 2)
    assert flat.growth_mb == MEMORY_GROWTH_FLOOR_MB / 2
    growing = _memory(400.0, 400.0 + 2 * MEMORY_GROWTH_FLOOR_MB)
    for memory, verdict in ((flat, "PASS"), (growing, "FAIL"), (None, "FAIL")):
        verdicts = _verdicts(CancelMemoryResult(memory=memory))
        assert [v for c, v in verdicts.items() if c.startswith("web process RSS")] == [verdict]


def test_the_section_is_reported_and_no_longer_listed_as_unmeasured():
    result = CancelMemoryResult(cancels=[_run(0.5, 0.7)], memory=_memory(400.0, 401.0))
    results = report.Results(machine={}, quick=False, command="test", cancel_memory=result)
    text = report.to_markdown(results)
    assert "## 8. Cancel and memory" in text and "| 100 | 401.0 |" in text
    unmeasured = " ".join(check for check, _, _ in report.NOT_MEASURED)
    assert "cancelled matrix" not in unmeasured and "web process RSS" not in unmeasured


def test_running_this_section_alone_keeps_the_full_results_file():
    assert parse_args(["--only", "cancel-memory"]).output == report.CANCEL_MEMORY
    assert parse_args([]).output == report.RESULTS
    assert parse_args(["--only", "pca,figures"]).output.name == "results-pca-figures.md"
