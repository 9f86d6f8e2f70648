"""Export: each graph's mode bar saves PNG/SVG under the view's name; the open head's map
downloads as CSV or npz; the current view's link goes to the clipboard."""

from __future__ import annotations

from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    no_update,
)

from dashboard import ids
from dashboard.export import head_csv, head_npz, view_stem
from dashboard.views.context import resolve

GRAPHS = {
    ids.MATRIX_GRAPH: "matrix",
    ids.HEAD_GRAPH: "head",
    ids.SENTENCE_GRAPH: "sentence",
    ids.IMAGE_MAP: "image-map",
    ids.COMPARE_A_GRAPH: "head",
    ids.COMPARE_B_GRAPH: "compare-b",
}


def name_images(request: dict | None, view: dict | None) -> dict[str, str | None]:
    """The file name each graph's PNG and SVG buttons save as, answered by views/url.sync_url
    with the view and request. assets/export.js puts them into the graphs' configs: a new
    config from Dash would redraw a graph from scratch."""
    return {graph_id: view_stem(graph, request, view) for graph_id, graph in GRAPHS.items()}


clientside_callback(
    ClientsideFunction(namespace="qkatlas", function_name="nameImages"),
    Output(ids.IMAGE_NAMES_SET, "data"),
    Input(ids.IMAGE_NAMES, "data"),
)


def head_file(kind: str, request: dict | None, view: dict | None) -> dict | None:
    """dcc.Download's data: the open head's map as "csv" or "npz"; None when there is none."""
    context = resolve(request)
    if context is None or not view or view.get("view") != "head" or context.table is None:
        return None
    layer, head = int(view["layer"]), int(view["head"])
    coords, level = context.coords(layer, head)
    if coords is None:
        return None
    # a PCA stand-in (level 1) is named for what it is
    method = context.params.method if level == 2 else "pca"
    stem = view_stem("head", {**request, "params": {"method": method}}, view)
    if kind == "csv":
        return dcc.send_string(head_csv(coords, context.table), f"{stem}.csv", type="text/csv")
    return dcc.send_bytes(head_npz(coords, context.table), f"{stem}.npz")


@callback(
    Output(ids.HEAD_DOWNLOAD, "data"),
    Input(ids.HEAD_CSV, "n_clicks"),
    Input(ids.HEAD_NPZ, "n_clicks"),
    State(ids.REQUEST, "data"),
    State(ids.VIEW, "data"),
    prevent_initial_call=True,
)
def download_head(_csv, _npz, request, view):
    found = head_file("csv" if ctx.triggered_id == ids.HEAD_CSV else "npz", request, view)
    return no_update if found is None else found


# the URL is the view's state (urlstate.py): copying it copies what you see
clientside_callback(
    "function (_) { return window.location.href; }",
    Output(ids.COPY_LINK, "content"),
    Input(ids.COPY_LINK, "n_clicks"),
    prevent_initial_call=True,
)
