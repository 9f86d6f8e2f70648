"""Compare view: two heads side by side, a hovered token ringed in both, the URL holding both."""

from __future__ import annotations

import numpy as np
import pytest
from dash import no_update

from dashboard.figures.encode import decode
from dashboard.figures.single import PINNED, draw_order
from dashboard.models.qk import TokenTable
from dashboard.urlstate import parse
from dashboard.views import compare
from tests.deploy.servers import wait_until


def test_two_heads_of_one_model_side_by_side_with_a_linked_hover(svc, tiny_request):
    state = parse("?view=head&layer=1&head=2").open_compare(0, 3)
    assert parse(state.to_search()) == state  # the URL holds both panes
    view = {"view": "compare", "layer": 1, "head": 2, "b_layer": 0, "b_head": 3}
    a, b, note_a, note_b, shown = compare.render_panes(view, tiny_request, "role")
    assert "Layer 1 · head 2" in note_a and "Layer 0 · head 3" in note_b
    assert a["data"][0]["x"] != b["data"][0]["x"]  # two different maps

    index = 5  # the 6th point drawn in pane A
    point = int(draw_order(len(a["data"][0]["text"]))[index])
    hover = {"points": [{"curveNumber": 0, "pointNumber": index}]}
    patch_a, patch_b = compare.ring_both(False, hover, shown)
    rings = [p.to_plotly_json()["operations"][0] for p in (patch_a, patch_b)]
    assert [r["location"] for r in rings] == [["data", PINNED]] * 2
    stored = [svc.store.load(k)[0]["coords"] for k in _coords_keys(svc, tiny_request)]
    for ring, coords in zip(rings, stored, strict=True):  # the same token in both panes
        assert ring["params"]["value"]["x"] == [float(coords[point, 0])]

    # a job's report that changes neither pane re-sends neither (a redraw dropped the ring)
    again = compare.render_panes(view, tiny_request, "role", shown=shown)
    assert again[:2] == (no_update, no_update) and again[4] == shown
    recoloured = compare.render_panes(view, tiny_request, "position", shown=shown)
    assert all(isinstance(figure, dict) for figure in recoloured[:2])


def _coords_keys(svc, request):
    from dashboard.cache_keys import MapParams

    subject, _ = svc.subject(request["model"], request["corpus"])
    return [subject.coords_key(1, 2, MapParams()), subject.coords_key(0, 3, MapParams())]


def _table(lengths: list[int]) -> TokenTable:
    n = sum(lengths)
    return TokenTable(
        token=np.array([f"t{i}" for i in range(n)]),
        sentence=np.repeat(np.arange(len(lengths), dtype=np.int32), lengths),
        position=np.concatenate([np.arange(k, dtype=np.int32) for k in lengths]),
        length=np.repeat(np.array(lengths, dtype=np.int32), lengths),
        special=np.zeros(n, bool),
    )


def test_across_tokenisations_the_same_sentence_role_and_relative_position():
    a, b = _table([3, 5]), _table([5, 9])  # sentence 1: 5 tokens in A, 9 in B
    last_key_of_sentence_1 = len(a) + 7  # A's key at position 4 of 4
    assert compare.same_token(last_key_of_sentence_1, a, b) == len(b) + 13  # B: position 8 of 8
    assert compare.same_token(3, a, b) == 5  # query, position 0 of sentence 1


def test_a_selection_in_one_pane_is_marked_in_both(svc, tiny_request):
    from dashboard.figures.single import HITS

    view = {"view": "compare", "layer": 1, "head": 2, "b_layer": 0, "b_head": 3}
    *_, shown = compare.render_panes(view, tiny_request, "role")
    selected = {"points": [{"curveNumber": 0, "pointNumber": i} for i in (0, 1, 2)]}
    patches = compare.mark_selection(True, selected, shown)
    for patch in patches:
        op = patch.to_plotly_json()["operations"][0]
        assert op["location"] == ["data", HITS]
        assert len(decode(op["params"]["value"]["x"])) == 3  # the three tokens, in each pane


@pytest.fixture
def two_models(tmp_path, model_dirs, tiny_gpt2_dir, pool_address):
    """(svc, request): tiny BERT's matrix computed on a small corpus, and a tiny GPT-2 in
    MODEL_DIRS that was never asked for on it."""
    import shutil

    from dashboard import catalog
    from dashboard.config import Settings
    from dashboard.views import progress
    from dashboard.views.data import add_corpus
    from dashboard.views.request import resolve_request
    from tests.app.conftest import SENTENCES

    shutil.copytree(tiny_gpt2_dir, model_dirs / "tiny-gpt2")
    svc = catalog.configure(
        Settings(cache_dir=tmp_path / "cache", model_dirs=(model_dirs,), warm_umap=False)
    )
    _, corpus_id, _ = add_corpus(SENTENCES, [])
    request = resolve_request("local/tiny-bert", corpus_id, "pca", 2, ["translate", "scale"])
    assert progress.run_request(request, lambda p: None)["status"] == "done"  # pane A's maps
    return svc, request


def _measured(svc, subject, request: dict) -> bool:
    """Every head's metrics of this request's maps in the cache."""
    from dashboard.cache_keys import MapParams

    params = MapParams.from_dict(request["params"])
    return all(svc.store.has(subject.metrics_key(*lh, params)) for lh in subject.heads())


def test_pane_b_of_another_model_is_computed_by_the_analysis_job(two_models):
    """Pane B of a model never asked for on this corpus: the web callback draws what is
    cached and says the head is being computed (it never waits for the pool); the analysis
    job computes that head alone on the workers; then pane B draws it, or says why not."""
    from dashboard.cache_keys import MapParams
    from dashboard.views import analysis

    svc, request = two_models
    view = {"view": "compare", "layer": 0, "head": 1, "b_model": "local/tiny-gpt2"}
    view |= {"b_layer": 1, "b_head": 0}

    a, b, _, note_b, _ = compare.render_panes(view, request, "role")
    assert a["data"] and not b["data"] and note_b.endswith("Computing this head…")

    wanted = analysis.wanted_of(request, view)
    assert wanted["pane"] == [1, 0] and wanted["request"]["model"] == "local/tiny-gpt2"
    assert analysis.want(request, view, None) == (wanted, no_update), "a job for pane B's head"
    ended = analysis.run_analysis(wanted)
    assert ended["status"] == "done", ended
    # computed now: the view gets the job's end without a job
    assert analysis.want(request, view, None) == (no_update, ended)
    subject, _ = svc.subject("local/tiny-gpt2", request["corpus"])
    b_params = MapParams.from_dict(wanted["request"]["params"])
    assert svc.store.has(subject.coords_key(1, 0, b_params))
    assert not svc.store.has(subject.coords_key(0, 0, b_params)), "pane B's head alone"

    _, b, _, note_b, shown = compare.render_panes(view, request, "role", analysis=ended)
    n_points = 2 * len(svc.store.load(subject.tokens_key)[0]["token"])
    assert len(b["data"][0]["text"]) == n_points and "Layer 1 · head 0" in note_b
    assert shown["b"][0]["model"] == "local/tiny-gpt2"

    failed = {**ended, "status": "error", "message": "The worker pool is not answering."}
    assert compare.render_panes(view, request, "role", analysis=failed)[3] == failed["message"]


def test_two_models_matrices_side_by_side_and_a_cell_opens_its_head(two_models):
    """`panes=matrices`: each model's whole matrix (pane B's by the analysis job, with the
    matrix job's own tasks); a click on a cell of B's opens that head in pane B."""
    from dashboard.cache_keys import MapParams
    from dashboard.figures.matrix import cell_center
    from dashboard.views import analysis

    svc, request = two_models
    state = parse("?view=head&layer=0&head=1").open_compare(0, 0, "local/tiny-gpt2", "matrices")
    assert parse(state.to_search()) == state and "panes=matrices" in state.to_search()
    view = {"view": "compare", "layer": 0, "head": 1, "b_model": "local/tiny-gpt2"}
    view |= {"b_layer": 0, "b_head": 0, "panes": "matrices"}

    a, b, note_a, note_b, _ = compare.render_panes(view, request, "role")
    assert len(a["data"]) > request["n_layers"] and "click a cell" in note_a
    assert "computing its maps" in note_b

    wanted = analysis.wanted_of(request, view)
    assert wanted["matrix"] and wanted["request"]["model"] == "local/tiny-gpt2"
    ended = analysis.run_analysis(wanted)
    assert ended["status"] == "done", ended
    b_request = wanted["request"]
    subject, _ = svc.subject(b_request["model"], b_request["corpus"])
    params = MapParams.from_dict(b_request["params"])
    assert all(svc.store.has(subject.coords_key(*lh, params)) for lh in subject.heads())

    _, b, _, note_b, shown = compare.render_panes(view, request, "role", analysis=ended)
    assert "click a cell" in note_b
    assert [t["name"] for t in b["data"][: b_request["n_layers"]]] == [
        t["name"] for t in compare.matrix.render(b_request, "role", None, False)[0]["data"]
    ][: b_request["n_layers"]]
    layer, head_ = b_request["n_layers"] - 1, b_request["n_heads"] - 1
    x, y = cell_center(layer, head_)
    click = {"points": [{"curveNumber": 10_000, "x": x, "y": y}]}
    opened = parse(compare.head_from_cell(True, click, state.to_search(), shown))
    assert (opened.view, opened.panes, opened.b_layer, opened.b_head) == (
        "compare",
        "heads",
        layer,
        head_,
    )
    assert opened.b_model == "local/tiny-gpt2" and (opened.layer, opened.head) == (0, 1)
    opened_a = parse(compare.head_from_cell(False, click, state.to_search(), shown))
    assert (opened_a.layer, opened_a.head, opened_a.b_layer) == (layer, head_, 0)

    # a progress report that changes neither matrix re-sends neither; another colour, both.
    # Each job's metrics land after it (fire and forget) and do change a matrix (its cells'
    # badges): the drawn state compared against is taken once both models are measured.
    a_subject, _ = svc.subject(request["model"], request["corpus"])
    wait_until(
        lambda: _measured(svc, a_subject, request) and _measured(svc, subject, b_request),
        "both models' metrics in the cache after their jobs",
        60,
    )
    shown = compare.render_panes(view, request, "role", analysis=ended, shown=shown)[4]
    again = compare.render_panes(view, request, "role", analysis=ended, shown=shown)
    assert again[:2] == (no_update, no_update) and again[4] == shown
    recoloured = compare.render_panes(view, request, "position", analysis=ended, shown=shown)
    assert all(isinstance(figure, dict) for figure in recoloured[:2])
