"""bench/bigmodel.py's pure helpers: the corpus cut, the seeded caches, the model it builds."""

from __future__ import annotations

import os

import numpy as np
import pytest

from bench.bigmodel import (
    BERT_BASE,
    LABEL,
    MODEL_NAME,
    BigModelResult,
    ScaleRun,
    build_model,
    first_sentences,
    seed_cache,
)
from bench.report import NOT_MEASURED, Results, _browser_floors, floors, to_markdown
from dashboard.models.registry import discover
from dashboard.store import Store


def test_first_sentences_holds_the_token_count_with_whole_sentences():
    counts = [30, 40, 50]
    assert first_sentences(counts, counts[0]) == 1
    assert first_sentences(counts, counts[0] + 1) == 2
    assert first_sentences(counts, sum(counts)) == len(counts)
    with pytest.raises(ValueError, match=str(sum(counts))):
        first_sentences(counts, sum(counts) + 1)


def test_seeded_cache_links_the_stored_qk_and_tokens_only(tmp_path):
    source, target = tmp_path / "source", tmp_path / "target"
    store = Store(source)
    arrays = {"q": np.arange(6, dtype=np.float32)}
    for key in ("qk-" + "a" * 32, "tokens-" + "b" * 32, "coords-" + "c" * 32):
        store.save(key, arrays, {})
    seed_cache(source, target)
    seeded = Store(target)
    assert seeded.has("qk-" + "a" * 32) and seeded.has("tokens-" + "b" * 32)
    assert not seeded.has("coords-" + "c" * 32)
    linked = next((target / "qk").rglob("*.npz"))
    assert os.path.samefile(linked, next((source / "qk").rglob("*.npz")))


def test_the_built_model_passes_the_registrys_allowlist(tmp_path):
    """The same code builds the BERT-base shape; a tiny shape keeps the test fast."""
    shape = {**BERT_BASE, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4}
    shape["intermediate_size"] = 64
    build_model(tmp_path, shape)
    spec = discover((tmp_path,)).get(f"local/{MODEL_NAME}")
    assert (spec.n_layers, spec.n_heads, spec.head_dim) == (2, 4, 8)
    assert spec.architecture == "BertModel"


def _result(differ: list[int | None]) -> BigModelResult:
    return BigModelResult(
        model_id="local/x",
        n_layers=12,
        n_heads=12,
        head_dim=64,
        n_params=1,
        n_sentences=3,
        n_tokens=20_000,
        cluster_start_s=5.0,
        extraction_s=10.0,
        pca_s=12.0,
        peak_rss={"a": 1_500_000_000, "b": 2_500_000_000},
        rss_after_pca={},
        threads=2,
        forward_s=[10.0, 30.0],
        extract_store_s=[11.0, 33.0],
        heads_sample="1 per layer (12 heads)",
        scale=[ScaleRun(f"run {i}", 1, 12, 60.0, d) for i, d in enumerate(differ)],
    )


def test_bigmodel_floors_and_a_partial_report():
    result = _result([None, 1, 2])
    assert result.pca_cold_s == 5.0 + 10.0 + 12.0
    assert result.ratio == pytest.approx(np.median([11.0, 33.0]) / np.median([10.0, 30.0]))
    results = Results(machine={}, quick=False, command="x", bigmodel=result, partial="only 7")
    assert len(floors(results)) == 4  # a partial report leaves out the goals nothing measured
    page = to_markdown(results)
    assert "only 7" in page and LABEL in page and "heads per minute" in page
    by_unit = {f.unit: f for f in floors(results)}
    assert by_unit["GB"].value == 2.5 and not by_unit["GB"].passed
    assert by_unit["heads"].value == 3 and not by_unit["heads"].passed
    assert by_unit["s"].passed and by_unit["×"].passed
    full = Results(machine={}, quick=False, command="x", bigmodel=_result([None, 0, 0]))
    # and a whole run lists every goal, the unmeasured ones as such
    assert len(floors(full)) == 4 + len(NOT_MEASURED) + len(_browser_floors(None))
    assert next(f for f in floors(full) if f.unit == "heads").passed
