"""Matrix view: all heads in one figure; cells fill in as their maps arrive."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from dash import Input, Output, Patch, State, callback, ctx, no_update

from dashboard import ids
from dashboard.cache_keys import MapParams, Subject
from dashboard.catalog import current
from dashboard.errors import InputError
from dashboard.figures.colors import applicable, coloring
from dashboard.figures.matrix import (
    head_of_click,
    layer_trace,
    match_trace,
    matrix_figure,
    sample_points,
)
from dashboard.search import match_tokens
from dashboard.urlstate import parse

EMPTY = {
    "data": [],
    "layout": {
        "height": 120,
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "annotations": [{"text": "Preparing…", "showarrow": False}],
    },
}


def head_coords(
    subject: Subject, params: MapParams, layer: int, head: int
) -> tuple[np.ndarray | None, int]:
    """The best map we have: the requested method (2), its PCA stand-in (1), or nothing (0)."""
    store = current().store
    for level, p in ((2, params), (1, params.as_pca())):
        loaded = store.load(subject.coords_key(layer, head, p))
        if loaded is not None:
            return loaded[0]["coords"], level
    return None, 0


def head_levels(subject: Subject, params: MapParams) -> list[int]:
    store = current().store
    return [
        2
        if store.has(subject.coords_key(layer, head, params))
        else 1
        if store.has(subject.coords_key(layer, head, params.as_pca()))
        else 0
        for layer, head in subject.heads()
    ]


def search_mask(table, search: dict | None) -> np.ndarray | None:
    """[pos] bool of tokens matching the search, None without one (or with an invalid one)."""
    if not search or not search.get("text"):
        return None
    try:
        return match_tokens(
            table, search["text"], search.get("regex", False), search.get("case", False)
        )
    except InputError:
        return None


def render(
    request: dict | None,
    scheme: str,
    shown: dict | None,
    patch_ok: bool,
    search: dict | None = None,
):
    """(figure or Patch, shown-state). Rebuilds only the layers whose cells changed."""
    if not request or request.get("error"):
        return EMPTY, None
    svc = current()
    subject, _ = svc.subject(request["model"], request["corpus"])
    params = MapParams.from_dict(request["params"])
    table = svc.tokens(subject)
    if table is None:
        return EMPTY, None
    levels = head_levels(subject, params)
    tokens_matched = search_mask(table, search)
    pick = sample_points(
        len(table), include=None if tokens_matched is None else np.flatnonzero(tokens_matched)
    )
    n_layers, n_heads, n_points = subject.model.n_layers, subject.model.n_heads, len(pick)
    state = {
        "key": request["key"],
        "color": scheme,
        "levels": levels,
        "n_points": n_points,
        "search": search,
    }
    matched = None if tokens_matched is None else np.tile(tokens_matched, 2)[pick]
    full = coloring(applicable(scheme, table), table)
    color = replace(full, values=full.values[pick])

    def cell(layer: int, head: int) -> np.ndarray | None:
        coords = head_coords(subject, params, layer, head)[0]
        return None if coords is None else coords[pick]

    same_figure = (
        patch_ok
        and shown
        and shown["key"] == state["key"]
        and shown["color"] == scheme
        and shown.get("search") == search
    )
    if same_figure:
        if shown["levels"] == levels:
            return no_update, no_update
        patch = Patch()
        for layer in range(n_layers):
            row = slice(layer * n_heads, (layer + 1) * n_heads)
            if shown["levels"][row] != levels[row]:
                heads = [cell(layer, h) for h in range(n_heads)]
                patch["data"][layer] = layer_trace(layer, heads, n_points, color)
                if matched is not None:
                    patch["data"][n_layers + layer] = match_trace(layer, heads, n_points, matched)
        return patch, state
    coords = {}
    for layer, head in subject.heads():
        found = cell(layer, head)
        if found is not None:
            coords[(layer, head)] = found
    figure = matrix_figure(n_layers, n_heads, coords, n_points, color, request["title"], matched)
    return figure, state


@callback(
    Output(ids.MATRIX_GRAPH, "figure"),
    Output(ids.MATRIX_SHOWN, "data"),
    Input(ids.REQUEST, "data"),
    Input(ids.JOB_PROGRESS, "data"),
    Input(ids.COLOR, "value"),
    Input(ids.SEARCH, "value"),
    Input(ids.SEARCH_OPTIONS, "value"),
    State(ids.MATRIX_SHOWN, "data"),
)
def update_matrix(request, progress, scheme, text, options, shown):
    if progress and request and progress.get("key") != request.get("key"):
        return no_update, no_update  # a report from a job that is no longer wanted
    search = search_of(text, options)
    return render(request, scheme or "role", shown, ctx.triggered_id == ids.JOB_PROGRESS, search)


def search_of(text: str | None, options: list[str] | None) -> dict | None:
    text = (text or "").strip()
    options = options or []
    return {"text": text, "regex": "regex" in options, "case": "case" in options} if text else None


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.MATRIX_GRAPH, "clickData"),
    State(ids.URL, "search"),
    State(ids.REQUEST, "data"),
    State(ids.MATRIX_SHOWN, "data"),
    prevent_initial_call=True,
)
def open_head(click, search, request, shown):
    if not click or not request or not shown or request.get("error"):
        return no_update
    target = head_of_click(
        click["points"][0], request["n_layers"], request["n_heads"], shown["n_points"]
    )
    if target is None:
        return no_update
    return parse(search).open_head(*target).to_search()
