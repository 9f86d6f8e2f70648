"""Compare view: two heads side by side on one corpus — of one model, or of two — each pane with
its own layer/head (pane B also its model), both in the URL; hovering a token in either pane
rings the same token (same sentence and role) in both. Or (`panes="matrices"`) the two models'
whole matrices side by side; a click on a cell opens that head in its pane."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
from dash import Input, Output, Patch, State, callback, ctx, no_update
from plotly.io.json import to_json_plotly

from dashboard import ids
from dashboard.figures.matrix import head_of_click
from dashboard.figures.single import HITS, PINNED, hits_trace, pinned_trace
from dashboard.models.qk import TokenTable
from dashboard.urlstate import parse
from dashboard.views import head, matrix
from dashboard.views.context import EMPTY, point_id, resolve
from dashboard.views.request import resolve_request


def pane_request(request: dict | None, view: dict) -> dict | None:
    """Pane B's request: its model on pane A's corpus, with the same projection and options."""
    if not request or request.get("error"):
        return None
    b_model = view.get("b_model") or request["model"]
    if b_model == request["model"]:
        return request
    params = request["params"]
    options = [name for name in ("translate", "scale") if params.get(name)]
    return resolve_request(b_model, request["corpus"], params["method"], params["dims"], options)


def render_panes(
    view: dict | None,
    request: dict | None,
    scheme: str,
    webgl: bool = True,
    analysis: dict | None = None,
    shown: dict | None = None,
):
    """(figure A, figure B, note A, note B, shown-state). Pane A's map comes with the matrix
    job; pane B's is computed by the analysis job (views/analysis.py) when it is not cached, and
    `analysis` is how that job ended (its sentence if it failed). `shown`: what the panes show
    now (two matrices are re-sent only when what they show changed)."""
    if not view or view.get("view") != "compare" or resolve(request) is None:
        return (no_update,) * 5
    layer, head_ = int(view["layer"]), int(view["head"])
    b_layer, b_head = int(view.get("b_layer") or 0), int(view.get("b_head") or 0)
    b_request = pane_request(request, view)
    if b_request is None or b_request.get("error"):
        problem = (b_request or {}).get("error", "Choose a model for pane B.")
        one = {"view": "head", "layer": layer, "head": head_}
        a = head.render(one, request, scheme, None, webgl=webgl, point_text=True)
        return a[0], EMPTY, a[2], problem, None
    if view.get("panes") == "matrices":
        return render_matrices(request, b_request, scheme, analysis, shown)
    failed = (analysis or {}).get("status") == "error" and (
        analysis.get("key"),
        analysis.get("pane"),
    ) == (b_request["key"], [b_layer, b_head])
    problem = analysis.get("message") if failed else None
    panes = [
        head.render(
            {"view": "head", "layer": lay, "head": hd},
            req,
            scheme,
            None,
            webgl=webgl,
            point_text=True,
        )
        for req, lay, hd in ((request, layer, head_), (b_request, b_layer, b_head))
    ]
    # each figure's title names its head and projection; the note adds the model and counts
    notes = [
        f"{req['title'].split(' · ')[0]} · {p[1]}: {p[2]}"
        for req, p in zip((request, b_request), panes, strict=True)
    ]
    # a pane whose figure is the one drawn is not sent again: a job's report re-sent both, and
    # the redraw dropped the ring a hover had just put in them
    drawn = [signature(pane[0]) for pane in panes]
    before = (shown or {}).get("drawn") if (shown or {}).get("panes") is None else None
    figures = [
        no_update if before and before[i] == drawn[i] else pane[0] for i, pane in enumerate(panes)
    ]
    shown = {"a": [request, layer, head_], "b": [b_request, b_layer, b_head], "drawn": drawn}
    return figures[0], figures[1], notes[0], problem or notes[1], shown


def signature(content: object) -> str:
    """A short digest of a figure or shown-state: what a pane shows, to compare with the next."""
    return hashlib.sha256(to_json_plotly(content).encode()).hexdigest()[:16]


def render_matrices(
    request: dict,
    b_request: dict,
    scheme: str,
    analysis: dict | None,
    before: dict | None = None,
):
    """The two models' whole matrices (pane B's computed by the analysis job). A matrix whose
    shown-state is the one drawn already is not sent again: every progress report of either job
    would redraw both (a second or so of the browser's time each)."""
    figures, notes, shown = [], [], {"panes": "matrices"}
    drawn_before = before if (before or {}).get("panes") == "matrices" else {}
    for side, req in (("a", request), ("b", b_request)):
        figure, state = matrix.render(req, scheme, None, False)
        digest = signature(state)
        same = (drawn_before.get(side) or [None] * 4)[3] == digest
        figures.append(no_update if same else figure)
        name = req["title"].split(" · ")[0]
        drawn = state is not None and all(level > 0 for level in state["levels"])
        notes.append(
            f"{name}: click a cell to open that head in this pane."
            if drawn
            else f"{name}: computing its maps on the workers…"
        )
        shown[side] = [
            req,
            state["n_points"] if state else None,
            state and state["order"],
            digest,
        ]
    failed = (analysis or {}).get("status") == "error" and analysis.get("matrix")
    if failed and analysis.get("key") == b_request["key"]:
        notes[1] = analysis["message"]
    return figures[0], figures[1], notes[0], notes[1], shown


@callback(
    Output(ids.COMPARE_A_GRAPH, "figure"),
    Output(ids.COMPARE_B_GRAPH, "figure"),
    Output(ids.COMPARE_A_NOTE, "children"),
    Output(ids.COMPARE_B_NOTE, "children"),
    Output(ids.COMPARE_SHOWN, "data"),
    Input(ids.COMPARE_VIEW, "data"),
    Input(ids.COMPARE_REQUEST, "data"),
    Input(ids.COLOR, "value"),
    State(ids.WEBGL, "data"),  # set as the page loads, before another view can open
    Input(ids.COMPARE_PROGRESS, "data"),  # pane A's map may arrive with the matrix job
    Input(ids.COMPARE_ANALYSIS, "data"),  # and pane B's with the analysis job
    State(ids.COMPARE_SHOWN, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def update_compare(view, request, scheme, webgl, _progress, analysis, shown):
    return render_panes(view, request, scheme or "role", webgl is not False, analysis, shown)


@callback(
    Output(ids.COMPARE_SECTION, "className"),
    Input(ids.COMPARE_VIEW, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def panes_class(view):
    """Matrices: the panes' layer and head boxes step aside (a click on a cell picks the head)."""
    return "view compare-matrices" if (view or {}).get("panes") == "matrices" else "view"


def same_token(point: int, table: TokenTable, other: TokenTable) -> int | None:
    """The point of `other` that is `point`'s token (queries 0…n-1, then keys): the same index
    under one tokenisation; across two, the same sentence and role at the nearest relative
    position."""
    n, m = len(table), len(other)
    token, is_key = point % n, point >= n
    if table is other or (n == m and np.array_equal(table.token, other.token)):
        return point
    sentence = int(table.sentence[token])
    where = np.flatnonzero(other.sentence == sentence)
    if not len(where):
        return None
    relative = table.normalised_position[token]
    nearest = int(where[np.argmin(np.abs(other.normalised_position[where] - relative))])
    return nearest + (m if is_key else 0)


@callback(
    Output(ids.COMPARE_A_GRAPH, "figure", allow_duplicate=True),
    Output(ids.COMPARE_B_GRAPH, "figure", allow_duplicate=True),
    Input(ids.COMPARE_A_GRAPH, "hoverData"),
    Input(ids.COMPARE_B_GRAPH, "hoverData"),
    State(ids.COMPARE_SHOWN, "data"),
    State(ids.WEBGL, "data"),
    prevent_initial_call=True,
)
def link_hover(hover_a, hover_b, shown, webgl):
    return ring_both(ctx.triggered_id == ids.COMPARE_B_GRAPH, hover_b or hover_a, shown, webgl)


def ring_both(from_b: bool, hover: dict | None, shown: dict | None, webgl=True):
    """(patch A, patch B): a ring on the hovered token in its pane and on the same token in the
    other."""
    if not shown or shown.get("panes") == "matrices":
        return no_update, no_update
    panes = []
    for side in ("a", "b"):
        request, layer, head_ = shown[side]
        context = resolve(request)
        if context is None or context.table is None:
            return no_update, no_update
        panes.append((context.table, context.coords(layer, head_)[0]))
    (table_a, coords_a), (table_b, coords_b) = panes
    if coords_a is None or coords_b is None:
        return no_update, no_update
    here, there = (table_b, table_a) if from_b else (table_a, table_b)
    point = point_id(hover, 2 * len(here))
    other = None if point is None else same_token(point, here, there)
    points = (other, point) if from_b else (point, other)
    patches = []
    for coords, p in zip((coords_a, coords_b), points, strict=True):
        patch = Patch()
        patch["data"][PINNED] = pinned_trace(coords, p, webgl is not False)
        patches.append(patch)
    return tuple(patches)


@callback(
    Output(ids.COMPARE_A_GRAPH, "figure", allow_duplicate=True),
    Output(ids.COMPARE_B_GRAPH, "figure", allow_duplicate=True),
    Input(ids.COMPARE_A_GRAPH, "selectedData"),
    Input(ids.COMPARE_B_GRAPH, "selectedData"),
    State(ids.COMPARE_SHOWN, "data"),
    State(ids.WEBGL, "data"),
    prevent_initial_call=True,
)
def link_selection(selected_a, selected_b, shown, webgl):
    from_b = ctx.triggered_id == ids.COMPARE_B_GRAPH
    return mark_selection(from_b, selected_b if from_b else selected_a, shown, webgl)


def mark_selection(from_b: bool, selected: dict | None, shown: dict | None, webgl=True):
    """(patch A, patch B): the tokens selected (box or lasso) in one pane, marked in both."""
    if not shown or shown.get("panes") == "matrices":
        return no_update, no_update
    contexts = [resolve(shown[side][0]) for side in ("a", "b")]
    if any(c is None or c.table is None for c in contexts):
        return no_update, no_update
    here, there = (contexts[1], contexts[0]) if from_b else (contexts[0], contexts[1])
    n_here = 2 * len(here.table)
    chosen = [point_id({"points": [p]}, n_here) for p in (selected or {}).get("points", [])]
    chosen = [p for p in chosen if p is not None]
    mapped = [same_token(p, here.table, there.table) for p in chosen]
    marks = [chosen, [p for p in mapped if p is not None]]
    if from_b:
        marks.reverse()
    patches = []
    for side, context, points in zip(("a", "b"), contexts, marks, strict=True):
        _, layer, head_ = shown[side]
        coords = context.coords(layer, head_)[0]
        mask = np.zeros(len(coords), bool)
        mask[points] = True
        patch = Patch()
        patch["data"][HITS] = hits_trace(coords, mask, context.hover(), webgl is not False)
        patches.append(patch)
    return tuple(patches)


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.HEAD_TO_COMPARE, "n_clicks"),
    State(ids.URL, "search"),
    State(ids.REQUEST, "data"),
    prevent_initial_call=True,
)
def open_compare(n_clicks, search, request):
    """From a head: pane B starts on the next head of the same layer."""
    state = parse(search)
    if not n_clicks or state.view != "head" or not request or request.get("error"):
        return no_update
    return state.open_compare(state.layer, (state.head + 1) % request["n_heads"]).to_search()


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.COMPARE_BACK, "n_clicks"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def back_to_head(n_clicks, search):
    state = parse(search)
    if not n_clicks or state.view != "compare":
        return no_update
    return state.open_head(state.layer, state.head).to_search()


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.MATRIX_TO_COMPARE, "n_clicks"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def open_matrices(n_clicks, search):
    """From the matrix: this model's matrix beside another's (pane B starts on this model)."""
    state = parse(search)
    if not n_clicks or state.view != "matrix":
        return no_update
    return state.open_compare(0, 0, panes="matrices").to_search()


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.COMPARE_A_GRAPH, "clickData"),
    Input(ids.COMPARE_B_GRAPH, "clickData"),
    State(ids.URL, "search"),
    State(ids.COMPARE_SHOWN, "data"),
    prevent_initial_call=True,
)
def open_cell(click_a, click_b, search, shown):
    from_b = ctx.triggered_id == ids.COMPARE_B_GRAPH
    return head_from_cell(from_b, click_b if from_b else click_a, search, shown)


def head_from_cell(from_b: bool, click: dict | None, search: str, shown: dict | None):
    """A click on a cell of one model's matrix: that head in its pane, the heads view."""
    if not click or not shown or shown.get("panes") != "matrices":
        return no_update
    request, n_points, order, _ = shown["b" if from_b else "a"]
    if not n_points:
        return no_update
    target = head_of_click(click["points"][0], request["n_layers"], request["n_heads"], n_points)
    if target is None:
        return no_update
    layer, slot = target
    head_ = order[layer][slot] if order else slot
    state = parse(search)
    if from_b:
        return state.open_compare(layer, head_).to_search()
    return replace(state, layer=layer, head=head_, panes="heads").to_search()
