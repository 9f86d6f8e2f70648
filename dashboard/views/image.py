"""Image view: the crop the model saw with one token's attention over its patch grid, and the
head's map of that image's tokens beside it (hovering a point outlines its patch)."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

import numpy as np
from dash import Input, Output, Patch, State, callback, no_update

from dashboard import ids
from dashboard.figures.colors import applicable, coloring
from dashboard.figures.image import HOVERED, SELECTED, image_figure, model_crop, outline
from dashboard.figures.single import head_figure
from dashboard.models.corpora import Corpus
from dashboard.urlstate import parse
from dashboard.views.context import EMPTY, point_id, resolve

SCOPE_LABEL = {
    "head": "head {head} of layer {layer}",
    "layer": "mean of layer {layer}'s heads",
    "model": "mean of every head in every layer",
}


def image_render(
    corpus: Corpus,
    table,
    w,
    image: int,
    patch: int | None,
    layer: int,
    head: int,
    scope: str,
    hide_first: bool = False,
):
    """The image with the attention of one token (a patch, or [CLS]) over its patch grid;
    `hide_first`: without [CLS] as a key, each query's attention renormalised over the rest."""
    in_image = table.sentence == image
    rows, cols = table.row[in_image], table.col[in_image]
    n_tokens, grid = int(in_image.sum()), int(rows.max()) + 1
    patch = patch if patch is not None and 0 <= patch < n_tokens else 0
    if hide_first and n_tokens > 1:  # [CLS] stays a query (the default overlay's own token)
        w = np.array(w, dtype=np.float64)
        w[:, 0] = 0.0
        total = w.sum(axis=1, keepdims=True)
        w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    heat = np.zeros((grid, grid))
    is_patch = rows >= 0
    heat[rows[is_patch], cols[is_patch]] = w[patch][is_patch]
    selected = (int(rows[patch]), int(cols[patch])) if rows[patch] >= 0 else None
    name = str(table.token[np.flatnonzero(in_image)[patch]])
    label = SCOPE_LABEL[scope].format(layer=layer, head=head)
    title = f"Image {image} ({Path(corpus.images[image]).stem}) · attention from {name} · {label}"
    figure = image_figure(
        model_crop(corpus.images[image]), grid, heat, selected, html.escape(title)
    )
    share = float(w[patch][~is_patch].sum())
    others = "registers" if hide_first else "[CLS]/registers"
    aside = (
        ""
        if hide_first and not (~is_patch)[1:].any()  # [CLS] hidden, no registers: nothing aside
        else f"{share:.0%} of its attention goes to {others}, not shown. "
    )
    note = (
        f"Overlay: how much {name} (as a query) attends to each patch (as a key); {aside}"
        "Click a patch to follow its attention; the image is the 224×224 crop the model saw."
    )
    return figure, note


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.SENTENCE_GRAPH, "clickData"),
    State(ids.URL, "search"),
    State(ids.REQUEST, "data"),
    prevent_initial_call=True,
)
def select_patch(click, search, request):
    """On an image, a click on a grid cell selects that patch (its token position)."""
    state = parse(search)
    try:
        point = click["points"][0]
        row, col = int(point["y"]), int(point["x"])
    except (TypeError, KeyError, IndexError, ValueError):
        return no_update
    context = resolve(request)
    table = context.table if context else None
    if table is None or not table.is_image or state.sentence is None:
        return no_update
    in_image = np.flatnonzero(table.sentence == state.sentence)
    hits = np.flatnonzero((table.row[in_image] == row) & (table.col[in_image] == col))
    return state.select_patch(int(hits[0])).to_search() if len(hits) else no_update


def image_map(
    view: dict | None,
    request: dict | None,
    scheme: str,
    shown: dict | None = None,
    webgl: bool = True,
):
    """(figure, hidden, shown-state): the head's map restricted to the open image's [CLS] +
    patches; no_update when what is shown would not change (progress re-runs this)."""
    context = resolve(request)
    if not view or view.get("view") != "sentence" or context is None:
        return no_update, no_update, no_update
    table = context.table
    if table is None or not table.is_image:
        return (EMPTY, True, "hidden") if shown != "hidden" else (no_update,) * 3
    layer, head = int(view["layer"]), int(view["head"])
    coords, level = context.coords(layer, head)
    item = context.item(view)
    state = {"key": context.key, "layer": layer, "head": head, "item": item}
    state.update(color=scheme, level=level, webgl=webgl)
    if state == shown:
        return no_update, no_update, no_update
    if coords is None:
        return EMPTY, False, state
    tokens = np.flatnonzero(table.sentence == item)
    rows = np.concatenate([tokens, tokens + len(table)])  # its queries, then its keys
    colour = coloring(applicable(scheme, table), table)
    subset = replace(colour, values=colour.values[rows])
    hover = context.hover()
    figure = head_figure(
        coords[rows], subset, [hover[i] for i in rows], f"Layer {layer} · head {head}", webgl=webgl
    )
    figure["layout"]["height"] = 560
    return figure, False, state


@callback(
    Output(ids.IMAGE_MAP, "figure"),
    Output(ids.IMAGE_MAP_WRAP, "hidden"),
    Output(ids.IMAGE_MAP_SHOWN, "data"),
    Input(ids.SENTENCE_VIEW, "data"),
    Input(ids.SENTENCE_REQUEST, "data"),
    Input(ids.COLOR, "value"),
    Input(ids.SENTENCE_PROGRESS, "data"),  # a head map computed after the view opened
    State(ids.WEBGL, "data"),  # set as the page loads, before another view can open
    State(ids.IMAGE_MAP_SHOWN, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def update_image_map(view, request, scheme, _progress, webgl, shown):
    return image_map(view, request, scheme or "role", shown, webgl is not False)


def hovered_patch(hover: dict | None, view: dict, request: dict) -> tuple[int, int] | None:
    """(row, col) of the patch under a hovered point of the image map; None for [CLS]/nothing."""
    context = resolve(request)
    table = context.table
    tokens = np.flatnonzero(table.sentence == context.item(view))
    point = point_id(hover, 2 * len(tokens))
    if point is None:
        return None
    token = tokens[point % len(tokens)]
    return (int(table.row[token]), int(table.col[token])) if table.row[token] >= 0 else None


@callback(
    Output(ids.SENTENCE_GRAPH, "figure", allow_duplicate=True),
    Input(ids.IMAGE_MAP, "hoverData"),
    State(ids.VIEW, "data"),
    State(ids.REQUEST, "data"),
    State(ids.SENTENCE_GRAPH, "figure"),
    prevent_initial_call=True,
)
def outline_hovered_patch(hover, view, request, figure):
    if not view or not request or request.get("error") or not figure:
        return no_update
    selected = [
        s for s in figure.get("layout", {}).get("shapes", []) if s["line"]["color"] == SELECTED
    ]
    target = hovered_patch(hover, view, request) if hover else None
    patch = Patch()
    patch["layout"]["shapes"] = selected + ([outline(*target, HOVERED)] if target else [])
    return patch
