"""Head similarity and the norm-scale curve: the worker tasks on a real tiny model, the views
as functions; every number shown is recomputed here directly."""

import numpy as np
import pytest
from dash import no_update
from scipy.spatial.distance import jensenshannon
from scipy.stats import spearmanr

from dashboard import worker_tasks
from dashboard.cache_keys import MapParams
from dashboard.models.qk import expand_kv, softmax_attention
from dashboard.projection.joint import EQUAL, RATIOS, joint_points, most_faithful_readable
from dashboard.urlstate import parse
from dashboard.views import scale, similarity
from dashboard.views.request import resolve_request


@pytest.fixture
def analysed(svc, tiny_request):
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    worker_tasks.similarity_task(subject, MapParams().seed)
    worker_tasks.scale_curve_task(subject, 1, 2, True)
    return subject


def _attention(svc, subject, layer, head):
    q, k = svc.qk(subject, layer)
    k = expand_kv(k, q.shape[0])
    table = svc.tokens(subject)
    return [softmax_attention(q[head, s], k[head, s], False) for s in table.sentence_slices()]


def test_similarity_equals_scipys_js_distance_averaged_over_queries(svc, analysed):
    found = svc.store.load(analysed.similarity_key(0))[0]
    d, heads = found["distances"], found["heads"]
    n = analysed.model.n_layers * analysed.model.n_heads
    assert d.shape == (n, n) and found["coords"].shape == (n, 2)
    assert heads.tolist() == [list(h) for h in analysed.heads()]
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0)
    # two heads of different layers, recomputed query by query (the tiny corpus is all sampled)
    a, b = _attention(svc, analysed, 0, 1), _attention(svc, analysed, 1, 3)
    per_query = [
        jensenshannon(wa[r], wb[r], base=2)
        for wa, wb in zip(a, b, strict=True)
        for r in range(len(wa))
    ]
    assert d[1, 4 + 3] == pytest.approx(np.mean(per_query), abs=1e-5)


def test_similarity_view_draws_every_head_and_a_click_opens_it(svc, tiny_request, analysed):
    view = {"view": "similarity"}
    figure, note = similarity.render(view, tiny_request, None)
    points = figure["data"][0]
    assert len(points["x"]) == tiny_request["n_layers"] * tiny_request["n_heads"]
    assert points["customdata"][6] == [1, 2] and points["marker"]["color"][6] == 1
    assert "Jensen–Shannon" in note
    click = {"points": [{"curveNumber": 0, "pointNumber": 6, "customdata": [1, 2]}]}
    search = similarity.open_head(click, "?color=position&view=similarity", tiny_request)
    state = parse(search)
    assert (state.view, state.layer, state.head, state.color) == ("head", 1, 2, "position")
    bad = {"points": [{"curveNumber": 0, "pointNumber": 0, "customdata": [9, 0]}]}
    assert similarity.open_head(bad, "", tiny_request) is no_update
    assert similarity.render({"view": "matrix"}, tiny_request, None) == (no_update, no_update)


def test_similarity_view_says_it_is_computing_or_why_it_failed(svc, tiny_request):
    _, note = similarity.render({"view": "similarity"}, tiny_request, None)
    assert note == similarity.COMPUTING
    failed = {"key": tiny_request["key"], "status": "error", "message": "It broke."}
    assert similarity.render({"view": "similarity"}, tiny_request, failed)[1] == "It broke."


def test_head_view_lists_the_five_nearest_heads_as_links(svc, tiny_request, analysed):
    d = svc.store.load(analysed.similarity_key(0))[0]["distances"]
    view = {"view": "head", "layer": 1, "head": 2}
    _, listing = similarity.similar_heads(view, tiny_request, None, "?view=head&layer=1&head=2")
    items = listing.children
    assert len(items) == similarity.N_SIMILAR
    expected = [i for i in np.argsort(d[6], kind="stable") if i != 6][: similarity.N_SIMILAR]
    for item, index in zip(items, expected, strict=True):
        link, weight = item.children
        layer, head = divmod(int(index), 4)
        assert parse(link.href).layer == layer and parse(link.href).head == head
        assert float(weight.children) == pytest.approx(d[6, index], abs=1e-3)


def test_scale_curve_is_rho_full_recomputed_per_query_at_every_scale(svc, tiny_request, analysed):
    curve = svc.store.load(analysed.curve_key(1, 2, True))[0]
    assert curve["ratio"].tolist() == list(RATIOS)
    q, k = svc.qk(analysed, 1)
    q, k = q[2], expand_kv(k, q.shape[0])[2]
    table = svc.tokens(analysed)
    for at in (0, EQUAL, len(RATIOS) - 1):
        points = joint_points(q, k, True, True, RATIOS[at])
        pq, pk = points[: len(q)], points[len(q) :]
        rhos = []
        for s in table.sentence_slices():
            for i in range(s.start, s.stop):
                keys = range(s.start, s.stop)
                dots = [pq[i] @ pk[j] for j in keys]
                near = [-np.linalg.norm(pq[i] - pk[j]) for j in keys]
                if len(dots) >= 3:
                    rhos.append(spearmanr(dots, near)[0])
        assert curve["rho"][at] == pytest.approx(np.nanmean(rhos), abs=1e-9)
    assert not np.allclose(curve["rho"], curve["rho"][0])  # the scale matters

    figure, note = scale.render({"view": "head", "layer": 1, "head": 2}, tiny_request, None)
    assert figure["data"][0]["y"] == pytest.approx(curve["rho"].tolist())
    assert f"ρ_full {curve['rho'][EQUAL]:.3f}" in note
    best = most_faithful_readable(curve["ratio"], curve["rho"])
    assert f"Most faithful readable: {best:.2g}" in note
    index, options = scale.preset(
        "faithful", {"view": "head", "layer": 1, "head": 2}, tiny_request, []
    )
    assert RATIOS[index] == best and "scale" in options
    assert scale.preset("equal", None, None, ["translate"]) == (EQUAL, ["scale", "translate"])


def test_the_norm_scale_reaches_the_maps_and_their_cache_keys(svc, tiny_request):
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    small = resolve_request(
        tiny_request["model"], tiny_request["corpus"], "pca", 2, ["translate", "scale"], 0
    )
    params = MapParams.from_dict(small["params"])
    assert params.key_ratio == RATIOS[0] and small["key"] != tiny_request["key"]
    assert MapParams().to_dict() == MapParams.from_dict(tiny_request["params"]).to_dict()
    assert "key_ratio" not in tiny_request["params"]  # maps cached before the control keep keys
    worker_tasks.project_task(subject, 0, 0, params)
    shrunk = svc.store.load(subject.coords_key(0, 0, params))[0]["coords"]
    equal = svc.store.load(subject.coords_key(0, 0, MapParams()))[0]["coords"]
    assert shrunk.shape == equal.shape and not np.allclose(shrunk, equal)
    assert "keys at 0.2× query norm" in small["title"]


def test_the_analysis_job_is_wanted_by_the_head_and_similarity_views_only(tiny_request):
    from dashboard.views.analysis import wanted_of

    assert wanted_of(tiny_request, {"view": "matrix"}) is None
    assert wanted_of({"error": "no"}, {"view": "similarity"}) is None
    assert wanted_of(tiny_request, {"view": "similarity"})["curve"] is None
    head = wanted_of(tiny_request, {"view": "head", "layer": 1, "head": 2, "point": 7})
    assert head == {"request": tiny_request, "curve": [1, 2]}
    # a pinned point changes the view but not what is wanted: no new job
    assert wanted_of(tiny_request, {"view": "head", "layer": 1, "head": 2, "point": 9}) == head


def test_the_analysis_job_reports_a_failure_as_a_sentence(tiny_request, monkeypatch):
    from dashboard.views.analysis import run_analysis

    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)  # no pool to reach
    ended = run_analysis({"request": tiny_request, "curve": [1, 2]})
    assert ended["status"] == "error" and ended["key"] == tiny_request["key"]
    assert "Traceback" not in ended["message"] and ended["message"].endswith(".")


def test_a_head_whose_analysis_is_cached_needs_no_job(svc, tiny_request, analysed):
    from dash import no_update

    from dashboard.views.analysis import want

    head = {"view": "head", "layer": 1, "head": 2, "point": 7}
    ended = {"key": tiny_request["key"], "curve": [1, 2], "pane": None, "matrix": None}
    assert want(tiny_request, head, None) == (no_update, {**ended, "status": "done", "message": ""})
    # another head's norm-scale curve is not computed yet: a job for it (and nothing else)
    other = {**head, "head": 3}
    assert want(tiny_request, other, None) == (
        {"request": tiny_request, "curve": [1, 3]},
        no_update,
    )
