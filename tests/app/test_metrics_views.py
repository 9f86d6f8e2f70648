"""Head metrics in the views: every matrix cell's hover, colour by metric, sort, dim, search
spread, and the single-head view's fidelity badge — numbers from the workers' cache."""

from __future__ import annotations

import numpy as np
import pytest
from dash import Patch, no_update

from dashboard import worker_tasks
from dashboard.analytics.metrics import search_spread, unfaithful
from dashboard.cache_keys import MapParams
from dashboard.figures.encode import decode
from dashboard.figures.matrix import OPACITY
from dashboard.figures.metrics import fmt
from dashboard.search import match_tokens
from dashboard.views import fidelity, matrix


@pytest.fixture
def measured(svc, tiny_request):
    """tiny_request with every head's metrics measured, as the workers do after a job."""
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    for layer, head in subject.heads():
        worker_tasks.metrics_task(subject, layer, head, MapParams())
    return subject


def _cached(svc, subject, layer, head):
    return svc.store.load_meta(subject.metrics_key(layer, head, MapParams()))["metrics"]


def test_every_cell_hover_has_its_heads_metrics(svc, tiny_request, measured):
    figure, shown = matrix.render(tiny_request, "role", None, patch_ok=False)
    cells = figure["data"][2]
    for layer, head in measured.heads():
        m = _cached(svc, measured, layer, head)
        text = cells["text"][layer][head]
        assert text.startswith(f"Layer {layer} · head {head}")
        assert f"ρ map {fmt(m['rho_map'])} of {fmt(m['rho_full'])}" in text
        assert f"entropy {fmt(m['entropy'])}" in text and f"sparsity {fmt(m['sparsity'])}" in text
    assert shown["measured"] == [True] * 8


def test_cells_coloured_and_sorted_by_a_metric_open_the_right_head(svc, tiny_request, measured):
    figure, shown = matrix.render(
        tiny_request, "role", None, patch_ok=False, metric="entropy", sort=True
    )
    cells = figure["data"][2]
    entropy = np.array(
        [[_cached(svc, measured, layer, h)["entropy"] for h in range(4)] for layer in range(2)]
    )
    order = np.argsort(-entropy, axis=1, kind="stable")
    assert shown["order"] == order.tolist()
    # the colour follows the heads as sorted: highest first in each layer, with a colour bar
    assert np.allclose(cells["z"], np.round(np.take_along_axis(entropy, order, 1), 4))
    assert cells["showscale"] is True and cells["colorbar"]["title"]["text"] == "entropy"
    assert cells["text"][1][0].startswith(f"Layer 1 · head {order[1][0]}")
    labels = figure["data"][-1]  # each cell names its head
    assert labels["text"][4:] == [f"H{h}" for h in order[1]]
    # a click on a map's point in slot 0 of layer 1 opens the head that sits there
    n_points = shown["n_points"]
    click = {"points": [{"curveNumber": 1, "pointNumber": 5}]}
    search = matrix.clicked_head(click, "", tiny_request, shown)
    assert "layer=1" in search and f"head={order[1][0]}" in search
    assert n_points > 5


def test_dimming_fades_exactly_the_unfaithful_heads(svc, tiny_request, measured):
    figure, shown = matrix.render(tiny_request, "role", None, patch_ok=False, dim=True)
    n_points = shown["n_points"]
    for layer in range(2):
        opacity = figure["data"][layer]["marker"]["opacity"]
        faint = [unfaithful(_cached(svc, measured, layer, h)) for h in range(4)]
        if not any(faint):
            assert opacity == OPACITY
            continue
        values = decode(opacity).reshape(4, n_points)
        assert [bool(row[0] < 0.5) for row in values] == faint


def test_search_spread_per_cell_is_the_cli_function_on_each_map(svc, tiny_request, measured):
    search = {"text": "the", "regex": False, "case": False, "whole": False}
    figure, _ = matrix.render(
        tiny_request, "role", None, patch_ok=False, search=search, metric="search_spread"
    )
    cells = figure["data"][4]  # two layers of maps, two of hits, then the cells
    table = svc.tokens(measured)
    hits = match_tokens(table, "the")
    coords = svc.store.load(measured.coords_key(1, 2, MapParams()))[0]["coords"]
    expected = search_spread(coords[: len(table)], hits, 0)
    assert cells["z"][1][2] == pytest.approx(round(expected, 4))
    assert f"search spread {fmt(expected)}" in cells["text"][1][2]


def test_metrics_arriving_patch_only_the_cells(svc, tiny_request):
    figure, shown = matrix.render(tiny_request, "role", None, patch_ok=False)
    assert "measured after the maps" in figure["data"][2]["text"][0][0]
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    worker_tasks.metrics_task(subject, 0, 1, MapParams())
    patch, shown2 = matrix.render(tiny_request, "role", shown, patch_ok=True)
    assert isinstance(patch, Patch) and shown2["measured"][1]
    locations = [op["location"] for op in patch.to_plotly_json()["operations"]]
    assert ["data", 0] not in locations and ["data", 2] in locations


def _texts(component) -> list:
    """Every (data-metric, text) pair in a Dash component tree."""
    found = []
    children = getattr(component, "children", None)
    metric = (
        getattr(component, "data-metric", None) if hasattr(component, "to_plotly_json") else None
    )
    if metric is not None:
        found.append((metric, children))
    for child in children if isinstance(children, list) else [children]:
        if hasattr(child, "to_plotly_json"):
            found += _texts(child)
    return found


def test_badge_shows_the_cached_numbers_and_a_level_colour(svc, tiny_request, measured):
    view = {"view": "head", "layer": 1, "head": 2}
    children = fidelity.show_fidelity(view, tiny_request, None, None)
    m = _cached(svc, measured, 1, 2)
    shown = dict(pair for child in children for pair in _texts(child))
    for name in ("rho_map", "rho_full", "rho_random", "trustworthiness", "topk_recall", "entropy"):
        assert shown[name] == fmt(m[name]), name
    assert children[0].style["--level"].startswith("#")


def test_badge_says_the_numbers_are_coming_before_they_are(svc, tiny_request):
    children = fidelity.show_fidelity(
        {"view": "head", "layer": 0, "head": 0}, tiny_request, None, None
    )
    assert "measured on the workers" in children[0].children


def test_the_views_follow_the_metrics_measured_after_the_job(svc, tiny_request):
    """Each poll that finds more heads measured changes the METRICS store (the badge and the
    matrix re-read); a poll that finds nothing new changes nothing; polling stops once every
    head is measured, and never starts before the job's maps are done (a job that runs, failed
    or was cancelled) nor for another request's job."""
    from dashboard.views.measure import count_measured

    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    done = {"key": tiny_request["key"], "phase": "done", "total": 8, "done": 8}
    seen, stop = count_measured(done, 0, tiny_request, None)
    assert seen == {"key": tiny_request["key"], "measured": 0, "at": 0} and stop is False
    assert count_measured(done, 1, tiny_request, seen) == (no_update, False)
    worker_tasks.metrics_task(subject, 0, 1, MapParams())
    seen, stop = count_measured(done, 2, tiny_request, seen)
    assert seen["measured"] == 1 and seen["at"] == 2 and stop is False
    for layer, head in subject.heads():
        worker_tasks.metrics_task(subject, layer, head, MapParams())
    seen, stop = count_measured(done, 3, tiny_request, seen)
    assert seen["measured"] == len(subject.heads()) and stop is True
    running = {**done, "phase": "projecting 8 heads with PCA", "done": 3}
    for ended in (running, {**done, "key": "another request"}, None):
        assert count_measured(ended, 0, tiny_request, None) == (no_update, True)


def test_progress_counts_the_measured_maps_after_the_maps():
    from dashboard.views.progress import show_progress

    report = {"phase": "measuring how faithful the 8 maps are", "total": 8, "done": 8}
    _, _, text = show_progress({**report, "method": "PCA", "measured": 3})
    assert text.endswith("8 of 8 PCA maps; fidelity of 3 measured")
    _, _, text = show_progress({**report, "phase": "done", "method": "PCA", "measured": 8})
    assert "fidelity" not in text


def test_measured_heads_redraw_the_matrix_by_the_tenth_and_the_last_at_once():
    from dashboard.views.matrix import REDRAW_SHARE, worth_a_redraw

    n_heads = 40
    step = round(REDRAW_SHARE * n_heads)
    drawn = [True] * 3 + [False] * (n_heads - 3)
    shown = {"key": "k", "measured": drawn, "metric": "rho_map"}  # cells coloured by a metric
    assert not worth_a_redraw({"key": "k", "measured": 3 + step - 1}, shown)
    assert worth_a_redraw({"key": "k", "measured": 3 + step}, shown)
    assert worth_a_redraw(
        {"key": "k", "measured": 3 + step}, {**shown, "metric": None, "dim": True}
    )
    # no metric on the cells: only their hover text changes, once, with the last head
    plain = {**shown, "metric": None, "dim": False}
    assert not worth_a_redraw({"key": "k", "measured": n_heads - 1}, plain)
    assert worth_a_redraw({"key": "k", "measured": n_heads}, plain)
    last = {"key": "k", "measured": [True] * (n_heads - 1) + [False], "metric": "rho_map"}
    assert worth_a_redraw({"key": "k", "measured": n_heads}, last)
    assert not worth_a_redraw({"key": "k", "measured": n_heads - 1}, last)
    assert worth_a_redraw({"key": "another request", "measured": 0}, shown)
    assert worth_a_redraw(None, shown) and worth_a_redraw({"key": "k", "measured": 1}, None)
