"""Matrix view: all heads in one figure; cells fill in as their maps arrive."""

from __future__ import annotations

import json
from dataclasses import replace

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
    no_update,
)

from dashboard import ids
from dashboard.analytics.metrics import search_spread, unfaithful
from dashboard.catalog import current
from dashboard.figures.colors import applicable, coloring
from dashboard.figures.matrix import (
    LOADING,
    MAX_PAIRS,
    CellInfo,
    badge_trace,
    cell_frame,
    cell_px,
    cell_trace,
    head_of_click,
    layer_trace,
    match_trace,
    matrix_figure,
    matrix_graph_style,
    matrix_title,
    pairs_for_cell,
    quiet,
    sample_points,
)
from dashboard.figures.metrics import LABELS, SEARCH_SPREAD, hover_lines, slot_order
from dashboard.lru import LockedLRU
from dashboard.projection.methods import METHODS
from dashboard.urlstate import parse
from dashboard.views.context import resolve, search_of

# search_spread of a (matrix, head, map level, search): a k-d tree per cell, milliseconds each,
# but a job's progress re-renders the matrix often; the maps themselves never change once stored
_SPREADS: LockedLRU[float] = LockedLRU(4096)
# whole figures by everything they are drawn from (the shown-state; stored maps and metrics never
# change): a team opens the same few matrices all day, and building one reads every head's map
# (~50 ms of the web worker's CPU, most of a page load's; bench/load). ~2 MB each.
_FIGURES: LockedLRU[dict] = LockedLRU(8)

NO_WEBGL = {"data": [], "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False}}}


def render(
    request: dict | None,
    scheme: str,
    shown: dict | None,
    patch_ok: bool,
    search: dict | None = None,
    metric: str | None = None,
    sort: bool = False,
    dim: bool = False,
    align: str = "none",
    max_pairs: int = MAX_PAIRS,
):
    """(figure or Patch, shown-state); no update when the graph holds this figure already
    (`shown`, what it holds, says so: e.g. the page load's, views/page_load.py). With `patch_ok`,
    a patch of the layers whose cells changed (the whole figure when heads are sorted or dimmed:
    a new map or metric may move or dim any cell); `align` turns each cell's map onto its
    reference (projection/align.py); each cell draws `max_pairs` query/key pairs at most
    (pairs_for_cell: what its size on screen shows)."""
    view = resolve(request)
    if view is None or view.table is None:
        return LOADING, None
    table, model = view.table, view.subject.model
    levels = view.levels()
    method = METHODS[view.params.method]
    tokens_matched = view.search_mask(search)
    pick = sample_points(
        len(table),
        max_pairs,
        include=None if tokens_matched is None else np.flatnonzero(tokens_matched),
    )
    n_layers, n_heads, n_points = model.n_layers, model.n_heads, len(pick)
    metrics = view.all_metrics()
    state = {
        "key": view.key,
        "color": scheme,
        "levels": levels,
        "n_points": n_points,
        "search": search,
        "metric": metric,
        "sort": bool(sort and metric),
        "dim": dim,
        "measured": [m is not None for m in metrics],
        "order": None,
        "align": align,
    }
    matched = None if tokens_matched is None else np.tile(tokens_matched, 2)[pick]
    full = coloring(applicable(scheme, table), table)
    color = replace(full, values=full.values[pick])
    maps: dict[tuple[int, int], np.ndarray | None] = {}

    def whole(layer: int, head: int) -> np.ndarray | None:
        if (layer, head) not in maps:
            maps[(layer, head)] = view.coords(layer, head)[0]
        return maps[(layer, head)]

    def cells(layer: int) -> list[np.ndarray | None]:
        return [None if c is None else c[pick] for c in view.aligned_layer(layer, align)]

    spreads = None
    if tokens_matched is not None:  # where the hits fall differs per head
        n, seed, signature = len(table), view.params.seed, json.dumps(search, sort_keys=True)

        def spread(index: int, layer: int, head: int) -> float | None:
            if levels[index] == 0:
                return None
            return _SPREADS.get(
                (view.key, layer, head, levels[index], signature),
                lambda: search_spread(whole(layer, head)[:n], tokens_matched, seed),
            )

        spreads = [spread(i, *lh) for i, lh in enumerate(view.subject.heads())]
    info = cell_info(metrics, spreads, metric, state["sort"], dim, n_layers, n_heads)
    state["order"] = info.order
    if shown == state:
        return no_update, no_update
    fixed = not state["sort"] and not dim  # cells stay where they are, none dims
    same_figure = (
        patch_ok
        and fixed
        and shown
        and all(
            shown.get(name) == state[name]
            for name in ("key", "color", "n_points", "search", "metric", "sort", "dim", "align")
        )
    )
    if same_figure:
        patch = Patch()
        for layer in range(n_layers):
            row = slice(layer * n_heads, (layer + 1) * n_heads)
            if shown["levels"][row] != levels[row]:
                heads = cells(layer)
                patch["data"][layer] = layer_trace(layer, heads, n_points, color)
                if matched is not None:
                    patch["data"][n_layers + layer] = quiet(
                        match_trace(layer, heads, n_points, matched)
                    )
        cells = n_layers * (1 if matched is None else 2)  # the cell heatmap, then the badges
        patch["data"][cells] = cell_trace(n_layers, n_heads, levels, method, info)
        patch["data"][cells + 1] = badge_trace(n_layers, n_heads, levels)
        for index, (old, new) in enumerate(zip(shown["levels"], levels, strict=True)):
            if (old == 1) != (new == 1):
                patch["layout"]["shapes"][index] = cell_frame(*divmod(index, n_heads), new)
        patch["layout"]["title"]["text"] = matrix_title(view.title, levels, method)
        return patch, state

    def build() -> dict:
        coords = {}
        for layer in range(n_layers):
            for head, found in enumerate(cells(layer)):
                if found is not None:
                    coords[(layer, head)] = found
        return matrix_figure(
            n_layers, n_heads, coords, n_points, color, view.title, matched, levels, method, info
        )

    drawn_from = (str(current().store.root), view.title, json.dumps(state, sort_keys=True))
    return _FIGURES.get(drawn_from, build), state


def cell_info(
    metrics: list[dict | None],
    spreads: list[float | None] | None,
    metric: str | None,
    sort: bool,
    dim: bool,
    n_layers: int,
    n_heads: int,
) -> CellInfo:
    """What the cells show besides the maps: hover lines, colour, order, dimming."""
    hover = [hover_lines(m, None if spreads is None else spreads[i]) for i, m in enumerate(metrics)]
    values = None
    if metric == SEARCH_SPREAD:
        values = spreads or [None] * len(metrics)
    elif metric:
        values = [None if m is None else m.get(metric) for m in metrics]
    return CellInfo(
        hover=hover,
        values=values,
        label=LABELS.get(metric or "", ""),
        order=slot_order(values, n_layers, n_heads) if sort and values is not None else None,
        dim=[unfaithful(m) for m in metrics] if dim else None,
    )


clientside_callback(
    ClientsideFunction(namespace="qkatlas", function_name="viewport"),
    Output(ids.MATRIX_VIEWPORT, "data"),
    Input(ids.URL, "pathname"),
)


@callback(Output(ids.MATRIX_GRAPH, "style"), Input(ids.REQUEST, "data"), Input(ids.WEBGL, "data"))
def size_matrix(request, webgl):
    """The graph's box; none without WebGL (views/webgl.py says what to enable instead)."""
    return {"display": "none"} if webgl is False else matrix_graph_style(request)


@callback(
    Output(ids.MATRIX_GRAPH, "figure"),
    Output(ids.MATRIX_SHOWN, "data"),
    Input(ids.REQUEST, "data"),
    Input(ids.JOB_PROGRESS, "data"),
    Input(ids.COLOR, "value"),
    Input(ids.SEARCH, "value"),
    Input(ids.SEARCH_OPTIONS, "value"),
    Input(ids.WEBGL, "data"),
    Input(ids.MATRIX_METRIC, "value"),
    Input(ids.MATRIX_SORT, "value"),
    Input(ids.MATRIX_DIM, "value"),
    Input(ids.ALIGN, "value"),
    Input(ids.METRICS, "data"),
    Input(ids.MATRIX_VIEW, "data"),  # the matrix opened (not every other view's opening)
    Input(ids.MATRIX_VIEWPORT, "data"),
    # held until the page load's own answer is in (Dash holds a callback while one of its inputs
    # may still change), which it then finds already shown (views/page_load.py)
    Input(ids.MATRIX_PAGE_LOAD, "data"),
    State(ids.VIEW, "data"),
    State(ids.MATRIX_SHOWN, "data"),
)
def update_matrix(
    request,
    progress,
    scheme,
    text,
    options,
    webgl,
    metric,
    sort,
    dim,
    align,
    measured,
    _opened,
    viewport,
    _page_load,
    view,
    shown,
):
    if ctx.triggered_id == ids.METRICS and not worth_a_redraw(measured, shown):
        return no_update, no_update
    if (view or {}).get("view", "matrix") != "matrix":
        # drawn when shown (going back patches in what changed): a hidden WebGL matrix redrawn
        # for each report or measured head kept the browser busy for seconds at a time
        return no_update, no_update
    if progress and request and progress.get("key") != request.get("key"):
        return no_update, no_update  # a report from a job that is no longer wanted
    if webgl is False:  # no WebGL trace at all (Plotly would say "WebGL is not supported")
        return NO_WEBGL, None  # views/webgl.py says what to enable in its place
    search = search_of(text, options)
    return render(
        request,
        scheme or "role",
        shown,
        True,  # a patch of what changed when the graph holds this figure (shown says)
        search,
        metric,
        bool(sort),
        bool(dim),
        align or "none",
        max_pairs_for(request, viewport),
    )


def max_pairs_for(request: dict | None, viewport: list | None) -> int:
    """The pairs each cell draws in this browser's matrix box (MAX_PAIRS when unknown)."""
    if not request or not request.get("n_layers") or not request.get("n_heads"):
        return MAX_PAIRS
    return pairs_for_cell(cell_px(viewport, request["n_layers"], request["n_heads"]))


REDRAW_SHARE = 0.1  # measured heads arriving redraw the matrix in steps of a tenth of its heads


def worth_a_redraw(measured: dict | None, shown: dict | None) -> bool:
    """Whether newly measured heads are worth redrawing the matrix for: every redraw of its
    WebGL traces costs the browser about a second. Cells coloured by a metric or dimmed take
    them by the tenth (and the last ones at once); otherwise only the cells' hover text would
    change, which waits for the last head (it says the metrics come after the maps). The open
    head's badge follows every single one."""
    if not measured or not shown or measured.get("key") != shown.get("key"):
        return True
    drawn = shown.get("measured") or []
    if measured["measured"] >= len(drawn):
        return True
    if not (shown.get("metric") or shown.get("dim")):
        return False
    step = max(1, round(REDRAW_SHARE * len(drawn)))
    return measured["measured"] - sum(drawn) >= step


def clicked_head(click: dict | None, search: str | None, request: dict | None, shown: dict | None):
    """The URL search that opens the head of a click on the matrix; None for a click on no head.
    Called by views/url.sync_url: a callback of its own was one more round trip before the
    head's figure could be asked for."""
    if not click or not request or not shown or request.get("error"):
        return None
    target = head_of_click(
        click["points"][0], request["n_layers"], request["n_heads"], shown["n_points"]
    )
    if target is None:
        return None
    layer, slot = target
    order = shown.get("order")  # sorted heads: a cell's slot is not its head
    return parse(search).open_head(layer, order[layer][slot] if order else slot).to_search()
