"""Single-head view: one head's queries and keys, zoomable, hover shows the token in context;
hovering or clicking a token draws lines to its strongest attention links and lists them."""

from __future__ import annotations

import numpy as np
from dash import (
    ClientsideFunction,
    Input,
    Output,
    Patch,
    State,
    callback,
    clientside_callback,
    ctx,
    html,
    no_update,
)

from dashboard import ids
from dashboard.figures.colors import applicable, coloring
from dashboard.figures.hover import display, hover_table
from dashboard.figures.single import (
    MAX_LINES,
    PINNED,
    generated_trace,
    head_figure,
    line_traces,
    pinned_trace,
    placed_trace,
)
from dashboard.models.qk import sentence_attention, strongest
from dashboard.projection.align import carry
from dashboard.projection.methods import METHODS
from dashboard.urlstate import parse
from dashboard.views.context import EMPTY, ViewContext, head_on_show, point_id, resolve, search_of
from dashboard.views.place import placed_for


def render(
    view: dict | None,
    request: dict | None,
    scheme: str,
    shown: dict | None,
    search: dict | None = None,
    size_by_norm: bool = False,
    webgl: bool = True,
    align: str = "none",
    placed: dict | None = None,
    hide_generated: bool = False,
    point_text: bool = False,
):
    """(figure, title, note, shown-state, hover table); no_update when what is shown would not
    change. The figure has no per-point hover text: the browser builds it from the hover table,
    which is sent only when the corpus changes (the shown-state remembers which one it has).
    `align` turns the map onto its reference (projection/align.py); `point_text` puts the hover
    text in the figure instead (for a graph without the browser-side hover, e.g. compare's).
    Without WebGL (`webgl` False) the map is drawn as SVG, a 3D one as its x–y plane."""
    opened = head_on_show(view, request)
    if opened is None:
        return no_update, no_update, no_update, no_update, no_update
    context, layer, head = opened
    title = f"Layer {layer} · head {head}"
    missing = context.subject.model.missing_head(layer, head)
    if missing:
        return EMPTY, title, missing, None, no_update
    table, params = context.table, context.params
    coords, level = context.aligned(layer, head, align) if table is not None else (None, 0)
    state = {
        "key": context.key,
        "color": scheme,
        "layer": layer,
        "head": head,
        "level": level,
        "search": search,
        "size": size_by_norm,
        "webgl": webgl,
        "align": align,
        "hide_generated": hide_generated,
        "hover": context.subject.tokens_key if table is not None else None,
    }
    placed = placed_for(placed, context.key, layer, head)
    if placed is not None:
        state["placed"] = placed["text"]
    if shown == state:
        return no_update, no_update, no_update, no_update, no_update
    # the corpus's hover table goes with the first figure of a corpus, placeholder or not: the
    # shown-state says it was sent (a head opened before its map had no hover text at all)
    same_corpus = shown is not None and shown.get("hover") == state["hover"]
    hover = no_update if same_corpus or table is None else hover_table(context.token_hover())
    if coords is None:
        return EMPTY, title, "Computing this head…", state, hover
    if placed is not None:  # turned with the map when it is aligned
        placed_xy = np.asarray(placed["coords"], dtype=np.float32)
        if align != "none":
            placed_xy = carry(context.coords(layer, head)[0], coords, placed_xy)
    note = params.label() + "."
    if level == 1:
        note = f"Showing PCA while {METHODS[params.method]} is computed for this head."
    elif params.dims == 3 and not webgl:
        note += " 3D needs WebGL, off in this browser: showing the x–y plane."
    elif params.dims == 3:
        note += " Drag to rotate."
    tokens_matched = context.search_mask(search)
    generated = None if table.generated is None else np.tile(table.generated, 2)  # [2·pos]
    if generated is not None and hide_generated:
        coords = np.where(generated[:, None], np.nan, coords)  # not drawn, not hoverable
        note += f" {int(table.generated.sum()):,} generated tokens hidden."
    elif generated is not None:
        note += f" {int(table.generated.sum()):,} generated tokens in orange (keys open)."
    figure = head_figure(
        coords,
        coloring(applicable(scheme, table), table),
        context.hover(),
        f"{title} · {params.label()}",
        matched=None if tokens_matched is None else np.tile(tokens_matched, 2),
        special=np.tile(table.special, 2),
        norms=vector_norms(context, layer, head) if size_by_norm else None,
        webgl=webgl,
        point_text=point_text,
    )
    if placed is not None:  # over the map, after the fixed traces (PLACED)
        figure["data"].append(placed_trace(placed_xy, placed["token"], webgl))
    if generated is not None and not hide_generated:
        figure["data"].append(generated_trace(coords, generated, context.hover(), webgl))
    note = f"{note} {len(table):,} tokens, {2 * len(table):,} points."
    return figure, title, note, state, hover


@callback(
    Output(ids.HEAD_FIGURE, "data"),
    Output(ids.HEAD_TITLE, "children"),
    Output(ids.HEAD_NOTE, "children"),
    Output(ids.HEAD_SHOWN, "data"),
    Output(ids.HEAD_HOVER, "data"),
    Input(ids.HEAD_VIEW, "data"),
    Input(ids.HEAD_REQUEST, "data"),
    Input(ids.COLOR, "value"),
    Input(ids.HEAD_PROGRESS, "data"),
    Input(ids.SEARCH, "value"),
    Input(ids.SEARCH_OPTIONS, "value"),
    Input(ids.HEAD_SIZE, "value"),
    State(ids.WEBGL, "data"),  # set as the page loads, before another view can open
    Input(ids.ALIGN, "value"),
    Input(ids.PLACED, "data"),
    Input(ids.GENERATED_HIDE, "value"),
    State(ids.HEAD_SHOWN, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def update_head(
    view, request, scheme, _progress, text, options, size, webgl, align, placed, hide, shown
):
    search = search_of(text, options)
    webgl = webgl is not False
    return render(
        view,
        request,
        scheme or "role",
        shown,
        search,
        bool(size),
        webgl,
        align or "none",
        placed,
        bool(hide),
    )


# The figure with its points' hover text, built in the browser (assets/hover.js); the links
# and the pinned ring are patched into the graph's figure afterwards (show_links).
clientside_callback(
    ClientsideFunction(namespace="qkatlas", function_name="withHover"),
    Output(ids.HEAD_GRAPH, "figure"),
    Input(ids.HEAD_FIGURE, "data"),
    State(ids.HEAD_HOVER, "data"),
)


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


def _panel(role: str, table, token: int, rows: list[tuple[str, int, float]], pinned: bool):
    name = display(str(table.token[token])).strip()
    heading = (
        f"Query “{name}” attends most to"
        if role == "query"
        else f"Key “{name}” is attended most by"
    )
    where = f"{table.item_word} {int(table.sentence[token])}, position {int(table.position[token])}"
    if pinned:
        where += " · pinned (click it again to unpin)"
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


HINT = "Hover or click a point to see its strongest attention links."


@callback(
    Output(ids.HEAD_GRAPH, "figure", allow_duplicate=True),
    Output(ids.HEAD_PANEL, "children"),
    Input(ids.HEAD_GRAPH, "hoverData"),
    Input(ids.HEAD_SHOWN, "data"),
    Input(ids.HEAD_VIEW, "data"),
    Input(ids.HEAD_TOP_K, "value"),
    Input(ids.HEAD_MIN_WEIGHT, "value"),
    State(ids.REQUEST, "data"),
    prevent_initial_call=True,
)
def show_links(hover, shown, view, top, minimum, request):
    hovered = hover if ctx.triggered_id == ids.HEAD_GRAPH else None  # not a stale one
    return render_links(hovered, shown, view, top, minimum, request)


def render_links(hover, shown, view, top, minimum, request):
    """(patch, panel): the links of the hovered point, else of the pinned one (the URL's
    `point`), for the head on show: a new head, model or corpus starts from its own pinned point
    or none."""
    opened = head_on_show(view, request)
    if opened is None:
        return no_update, no_update
    context, layer, head = opened
    table = context.table
    drawn = (
        shown
        and table is not None
        and shown.get("level")
        and (shown["key"], shown["layer"], shown["head"]) == (context.key, layer, head)
    )
    if not drawn:  # nothing (or another head) drawn yet: no stale token in the panel
        return no_update, HINT
    n_points = 2 * len(table)
    pinned = view.get("point") if 0 <= (view.get("point") or 0) < n_points else None
    hovered = point_id(hover, n_points)
    point = hovered if hovered is not None else pinned
    three_d = context.params.dims == 3
    coords, _ = context.aligned(layer, head, shown.get("align", "none"))
    top = min(max(int(top or 2), 1), MAX_LINES)
    minimum = float(minimum if minimum is not None else 0.05)
    pairs, panel = [], HINT
    if point is not None:
        pairs, rows, token = links(context, layer, head, point, top, minimum)
        role = "query" if point < len(table) else "key"
        panel = _panel(role, table, token, rows, point == pinned)
    if three_d and hovered is not None:
        # a 3D redraw drops Plotly's hover label: on hover only the panel changes
        return no_update, panel
    patch = Patch()
    for slot, trace in enumerate(line_traces(coords, pairs, shown.get("webgl", True))):
        patch["data"][1 + slot] = trace
    patch["data"][PINNED] = pinned_trace(coords, pinned, shown.get("webgl", True))
    return patch, panel


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.HEAD_GRAPH, "clickData"),
    State(ids.URL, "search"),
    State(ids.REQUEST, "data"),
    prevent_initial_call=True,
)
def pin_point(click, search, request):
    """A click pins a point (kept in the URL, so a link restores it); a click on it unpins it."""
    state, context = parse(search), resolve(request)
    if state.view != "head" or context is None or context.table is None:
        return no_update
    point = point_id(click, 2 * len(context.table))
    if point is None:
        return no_update
    return state.pin(None if point == state.point else point).to_search()


def item_words(request: dict | None) -> tuple[str, str]:
    """(button text, its tooltip) of the head's link to the sentence view — the image view on
    an image corpus."""
    context = resolve(request)
    table = context.table if context is not None else None
    word = table.item_word if table is not None else "sentence"
    links = "its attention over the patches" if word == "image" else "query→key links"
    return (
        f"{word.capitalize()} view →",
        f"The pinned token's {word} (or the first) as {links}",
    )


@callback(
    Output(ids.HEAD_TO_SENTENCE, "children"),
    Output(ids.HEAD_TO_SENTENCE, "title"),
    Input(ids.HEAD_REQUEST, "data"),
    Input(ids.HEAD_SHOWN, "data"),  # the corpus's tokens may arrive after the request
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def name_sentence_button(request, _shown):
    return item_words(request)


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.HEAD_BACK, "n_clicks"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def back_to_matrix(n_clicks, search):
    return parse(search).close_head().to_search() if n_clicks else no_update
