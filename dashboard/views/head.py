"""Single-head view: one head's queries and keys, zoomable, hover shows the token in context."""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update

from dashboard import ids
from dashboard.figures.colors import coloring
from dashboard.figures.single import head_figure
from dashboard.mapspec import MapParams
from dashboard.projection.methods import METHODS
from dashboard.services import current
from dashboard.urlstate import parse
from dashboard.views.matrix import EMPTY, head_coords


def render(view: dict | None, request: dict | None, scheme: str, shown: dict | None):
    """(figure, title, note, shown-state); no_update when what is shown would not change."""
    if not view or view.get("view") != "head" or not request or request.get("error"):
        return no_update, no_update, no_update, no_update
    svc = current()
    job, _ = svc.job(request["model"], request["corpus"])
    layer, head = int(view["layer"]), int(view["head"])
    title = f"Layer {layer} · head {head}"
    if not (0 <= layer < job.model.n_layers and 0 <= head < job.model.n_heads):
        note = (f"{job.model.name} has layers 0–{job.model.n_layers - 1} and heads "
                f"0–{job.model.n_heads - 1}: there is no layer {layer} head {head}.")
        return EMPTY, title, note, None
    params = MapParams.from_dict(request["params"])
    table = svc.tokens(job)
    coords, level = head_coords(job, params, layer, head) if table is not None else (None, 0)
    state = {"key": request["key"], "color": scheme, "layer": layer, "head": head, "level": level}
    if shown == state:
        return no_update, no_update, no_update, no_update
    if coords is None:
        return EMPTY, title, "Computing this head…", state
    note = params.label()
    if level == 1:
        note = f"Showing PCA while {METHODS[params.method]} is computed for this head."
    elif params.dims == 3:
        note += " — drag to rotate."
    figure = head_figure(coords, coloring(scheme, table), svc.hover(job, table), f"{title} · {params.label()}")
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
    State(ids.HEAD_SHOWN, "data"),
)
def update_head(view, request, scheme, _progress, shown):
    return render(view, request, scheme or "role", shown)


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.HEAD_BACK, "n_clicks"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def back_to_matrix(n_clicks, search):
    return parse(search).close_head().to_search() if n_clicks else no_update
