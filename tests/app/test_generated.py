"""Generated tokens through the app: the request, the extraction on a causal model, the head
view's own colour for them and the option to hide them, and the URL."""

from __future__ import annotations

import shutil

import numpy as np

from dashboard import catalog, worker_tasks
from dashboard.cache_keys import MapParams
from dashboard.config import Settings
from dashboard.figures.encode import decode
from dashboard.urlstate import parse

N = 3
OPTIONS = ["translate", "scale"]  # MapParams() defaults


def test_generated_tokens_get_their_own_trace_and_can_be_hidden(tmp_path, tiny_gpt2_dir):
    from dashboard.views import head
    from dashboard.views.data import add_corpus
    from dashboard.views.request import resolve_request

    root = tmp_path / "models"
    shutil.copytree(tiny_gpt2_dir, root / "tiny-gpt2")
    svc = catalog.configure(
        Settings(cache_dir=tmp_path / "cache", model_dirs=(root,), warm_umap=False)
    )
    _, corpus_id, _ = add_corpus("the quick brown fox\nqueries meet keys", [])
    request = resolve_request("local/tiny-gpt2", corpus_id, "pca", 2, OPTIONS, generate=N)
    plain = resolve_request("local/tiny-gpt2", corpus_id, "pca", 2, OPTIONS)
    assert request["generate"] == N and request["key"] != plain["key"]
    subject, corpus = svc.subject("local/tiny-gpt2", corpus_id, generate=N)
    worker_tasks.extract_task(subject, corpus)
    worker_tasks.project_task(subject, 1, 2, MapParams())
    table = svc.tokens(subject)
    n_generated = int(table.generated.sum())
    assert 0 < n_generated <= N * corpus.size

    view = {"view": "head", "layer": 1, "head": 2}
    figure, _, note, *_ = head.render(view, request, "role", None)
    assert figure["data"], note
    extra = figure["data"][-1]
    assert len(extra["text"]) == 2 * n_generated  # their queries and their keys
    assert all(t.startswith("generated · ") for t in extra["text"])

    hidden, _, note, *_ = head.render(view, request, "role", None, hide_generated=True)
    assert len(hidden["data"]) == len(figure["data"]) - 1
    assert f"{n_generated:,} generated tokens hidden" in note
    assert int(np.isnan(decode(hidden["data"][0]["x"])).sum()) == 2 * n_generated

    # the head's analysis (similarity, norm-scale curve) is of the same tokens as its map
    from dash import no_update

    from dashboard.views.analysis import want

    worker_tasks.similarity_task(subject, MapParams().seed)
    worker_tasks.scale_curve_task(subject, 1, 2, True)
    assert want(request, view, None)[0] is no_update  # all cached: no job

    # a BERT does not generate: the request falls back to the corpus as it is
    assert resolve_request("minilm", corpus_id, "pca", 2, [], generate=N)["generate"] == 0


def test_the_url_holds_the_generated_tokens():
    state = parse("?generate=5&hide_generated=1")
    assert (state.generate, state.hide_generated) == (5, True)
    assert "generate=5" in state.to_search() and "hide_generated=1" in state.to_search()
    assert parse("?generate=99").generate == 0  # out of range: the default
    assert "generate" not in parse("").to_search()


def test_only_a_causal_model_can_generate(svc):
    from dashboard.views.request import generate_control

    assert generate_control("minilm") is True  # off
    assert generate_control("smollm2") is ("smollm2" not in svc.registry.models)
    assert generate_control("nope") is True
