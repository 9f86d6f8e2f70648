"""Single-head view: one head's queries and keys, zoomable, hover shows the token in context;
hovering or clicking a token draws lines to its strongest attention links and lists them."""

from __future__ import annotations

import numpy as np
from dash import Input, Output, Patch, State, callback, ctx, html, no_update

from dashboard import ids
from dashboard.figures.colors import applicable, coloring
from dashboard.figures.hover import display
from dashboard.figures.single import MAX_LINES, head_figure, line_traces
from dashboard.models.qk import sentence_attention, strongest
from dashboard.projection.methods import METHODS
from dashboard.urlstate import parse
from dashboard.views.context import EMPTY, ViewContext, point_id, resolve, search_of


def render(
    view: dict | None,
    request: dict | None,
    scheme: str,
    shown: dict | None,
    search: dict | None = None,
    size_by_norm: bool = False,
    webgl: bool = True,
):
    """(figure, title, note, shown-state); no_update when what is shown would not change.
    Without WebGL (`webgl` False) the map is drawn as SVG, a 3D one as its x–y plane."""
    context = resolve(request)
    if not view or view.get("view") != "head" or context is None:
        return no_update, no_update, no_update, no_update
    layer, head = int(view["layer"]), int(view["head"])
    title = f"Layer {layer} · head {head}"
    missing = context.subject.model.missing_head(layer, head)
    if missing:
        return EMPTY, title, missing, None
    table, params = context.table, context.params
    coords, level = context.coords(layer, head) if table is not None else (None, 0)
    state = {
        "key": context.key,
        "color": scheme,
        "layer": layer,
        "head": head,
        "level": level,
        "search": search,
        "size": size_by_norm,
        "webgl": webgl,
    }
    if shown == state:
        return no_update, no_update, no_update, no_update
    if coords is None:
        return EMPTY, title, "Computing this head…", state
    note = params.label() + "."
    if level == 1:
        note = f"Showing PCA while {METHODS[params.method]} is computed for this head."
    elif params.dims == 3 and not webgl:
        note += " 3D needs WebGL, off in this browser: showing the x–y plane."
    elif params.dims == 3:
        note += " Drag to rotate."
    tokens_matched = context.search_mask(search)
    figure = head_figure(
        coords,
        coloring(applicable(scheme, table), table),
        context.hover(),
        f"{title} · {params.label()}",
        matched=None if tokens_matched is None else np.tile(tokens_matched, 2),
        special=np.tile(table.special, 2),
        norms=vector_norms(context, layer, head) if size_by_norm else None,
        webgl=webgl,
    )
    return figure, title, f"{note} {len(table):,} tokens, {2 * len(table):,} points.", state


@callback(
    Output(ids.HEAD_GRAPH, "figure"),
    Output(ids.HEAD_TITLE, "children"),
    Output(ids.HEAD_NOTE, "children"),
    Output(ids.HEAD_SHOWN, "data"),
    Input(ids.VIEW, "data"),
    Input(ids.REQUEST, "data"),
    Input(ids.COLOR, "value"),
    Input(ids.JOB_PROGRESS, "data"),
    Input(ids.SEARCH, "value"),
    Input(ids.SEARCH_OPTIONS, "value"),
    Input(ids.HEAD_SIZE, "value"),
    Input(ids.WEBGL, "data"),
    State(ids.HEAD_SHOWN, "data"),
)
def update_head(view, request, scheme, _progress, text, options, size, webgl, shown):
    search = search_of(text, options)
    return render(view, request, scheme or "role", shown, search, bool(size), webgl is not False)


def vector_norms(context: ViewContext, layer: int, head: int) -> np.ndarray:
    """[2·pos] ‖q‖ then ‖k‖ of the raw vectors (before the map's translation and scaling)."""
    q, k = context.qk(layer)
    return np.concatenate([np.linalg.norm(q[head], axis=1), np.linalg.norm(k[head], axis=1)])


def links(context: ViewContext, layer: int, head: int, point: int, top: int, minimum: float):
    """The strongest attention links of one point: ([(point a, point b, weight)], panel rows).

    A query's links go to the keys it attends to most; a key's come from the queries that
    attend to it most. Weights are the model's own (raw q, k), whatever the map's options."""
    table = context.table
    n = len(table)
    token = point % n
    q, k = context.qk(layer)
    sentence = int(table.sentence[token])
    span, weights = sentence_attention(q[head], k[head], table, sentence, context.causal)
    local = token - span.start
    if point < n:  # a query: its row
        found = strongest(weights[local], top, minimum)
        pairs = [(point, n + span.start + j, w) for j, w in found]
    else:  # a key: its column
        found = strongest(weights[:, local], top, minimum)
        pairs = [(span.start + i, point, w) for i, w in found]
    rows = [(display(str(table.token[span.start + j])).strip(), int(j), w) for j, w in found]
    return pairs, rows, token


def _panel(role: str, table, token: int, rows: list[tuple[str, int, float]]) -> list:
    name = display(str(table.token[token])).strip()
    heading = (
        f"Query “{name}” attends most to"
        if role == "query"
        else f"Key “{name}” is attended most by"
    )
    where = f"sentence {int(table.sentence[token])}, position {int(table.position[token])}"
    if not rows:
        return [
            html.H3(heading),
            html.P("no link above the minimum weight", className="context"),
            html.P(where, className="context"),
        ]
    items = [
        html.Li([f"{label} ", html.Span(f"(pos {pos}) {w:.2f}", className="weight")])
        for label, pos, w in rows
    ]
    return [html.H3(heading), html.Ol(items), html.P(where, className="context")]


@callback(
    Output(ids.HEAD_GRAPH, "figure", allow_duplicate=True),
    Output(ids.HEAD_PANEL, "children"),
    Input(ids.HEAD_GRAPH, "hoverData"),
    Input(ids.HEAD_GRAPH, "clickData"),
    Input(ids.HEAD_TOP_K, "value"),
    Input(ids.HEAD_MIN_WEIGHT, "value"),
    State(ids.VIEW, "data"),
    State(ids.REQUEST, "data"),
    State(ids.HEAD_SHOWN, "data"),
    prevent_initial_call=True,
)
def show_links(hover, click, top, minimum, view, request, shown):
    context = resolve(request)
    if not shown or not view or view.get("view") != "head" or context is None:
        return no_update, no_update
    clicked = f"{ids.HEAD_GRAPH}.clickData" in ctx.triggered_prop_ids
    source = hover if hover and not clicked else click
    table = context.table
    point = point_id(source, 2 * len(table)) if table is not None else None
    patch = Patch()
    if point is None:
        for slot in range(MAX_LINES):
            patch["data"][1 + slot]["x"], patch["data"][1 + slot]["y"] = [], []
        return patch, "Hover or click a point to see its strongest attention links."
    layer, head = int(view["layer"]), int(view["head"])
    top = min(max(int(top or 2), 1), MAX_LINES)
    minimum = float(minimum if minimum is not None else 0.05)
    pairs, rows, token = links(context, layer, head, point, top, minimum)
    coords, _ = context.coords(layer, head)
    for slot, trace in enumerate(line_traces(coords, pairs, shown.get("webgl", True))):
        patch["data"][1 + slot] = trace
    return patch, _panel("query" if point < len(table) else "key", table, token, rows)


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.HEAD_BACK, "n_clicks"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def back_to_matrix(n_clicks, search):
    return parse(search).close_head().to_search() if n_clicks else no_update
