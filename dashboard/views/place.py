"""Drop a sentence into the open head's map: its queries and keys are placed into the fitted
map on a worker (worker_tasks.place_task), drawn over it, and its links are one click away."""

from __future__ import annotations

import html

import numpy as np
from dash import Input, Output, State, callback, ctx, no_update

from dashboard import failures, ids
from dashboard.components.sections import PLACE_MAX_CHARS
from dashboard.figures.hover import display
from dashboard.figures.sentence import sentence_figure
from dashboard.views.context import resolve


def place(text: str | None, request: dict | None, view: dict | None) -> tuple[dict | None, str]:
    """(PLACED store data, note). The work runs on the pool; this waits for its small result."""
    from dashboard import dask_pool, worker_tasks

    context = resolve(request)
    sentence = " ".join((text or "").split())[:PLACE_MAX_CHARS]
    if context is None or not view or view.get("view") != "head":
        return None, ""
    if not sentence:
        return None, "Type a sentence to place it into this map."
    if context.table is not None and context.table.is_image:
        return None, "This map is of images: a sentence cannot be placed into it."
    layer, head = int(view["layer"]), int(view["head"])
    try:
        with dask_pool.client() as pool:
            placed = pool.submit(
                worker_tasks.place_task,
                context.subject,
                layer,
                head,
                context.params,
                sentence,
                pure=False,
            ).result(timeout=300)
    except Exception as exc:  # the user gets one sentence; the log gets the rest
        return None, failures.user_message(exc)
    n = len(placed["token"])
    data = {
        "key": context.key,
        "layer": layer,
        "head": head,
        "text": sentence,
        "token": [display(t).strip() or t for t in placed["token"].tolist()],
        "coords": placed["coords"].tolist(),
        "weights": placed["weights"].tolist(),
    }
    return data, (
        f"Placed {n} queries and {n} keys (stars) into the fitted map, which was not refitted."
    )


def placed_for(placed: dict | None, key: str, layer: int, head: int) -> dict | None:
    """The placed sentence if it belongs to this map and head; else None."""
    if placed and (placed.get("key"), placed.get("layer"), placed.get("head")) == (
        key,
        layer,
        head,
    ):
        return placed
    return None


@callback(
    Output(ids.PLACED, "data"),
    Output(ids.PLACE_NOTE, "children"),
    Input(ids.PLACE_SUBMIT, "n_clicks"),
    Input(ids.PLACE_TEXT, "n_submit"),
    State(ids.PLACE_TEXT, "value"),
    State(ids.REQUEST, "data"),
    State(ids.VIEW, "data"),
    prevent_initial_call=True,
)
def place_sentence(_clicks, _submit, text, request, view):
    return place(text, request, view)


@callback(
    Output(ids.PLACE_SHOW_SENTENCE, "hidden"),
    Output(ids.PLACE_SENTENCE_GRAPH, "figure"),
    Output(ids.PLACE_SENTENCE_GRAPH, "style"),
    Input(ids.PLACED, "data"),
    Input(ids.PLACE_SHOW_SENTENCE, "n_clicks"),
    Input(ids.HEAD_VIEW, "data"),
    State(ids.REQUEST, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def placed_sentence(placed, _clicks, view, request):
    """The button shows with a placed sentence of the open head; a click draws its links."""
    context = resolve(request)
    view = view or {}
    if context is None or view.get("view") != "head":
        return True, no_update, {"display": "none"}
    mine = placed_for(placed, context.key, view.get("layer"), view.get("head"))
    if mine is None:
        return True, no_update, {"display": "none"}
    if ctx.triggered_id != ids.PLACE_SHOW_SENTENCE:
        return False, no_update, {"display": "none"}
    figure = sentence_figure(
        mine["token"],
        np.asarray(mine["weights"]),
        f"Placed sentence · layer {mine['layer']} · head {mine['head']}"
        f"<br><sup>{html.escape(mine['text'])}</sup>",
    )
    return False, figure, {"height": f"{figure['layout'].get('height', 450)}px"}
