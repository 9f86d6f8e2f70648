"""A page load's matrix, straight from its URL.

The figure callback (views/matrix.py) hears the request the URL callback derives (views/url.py).
On a page load that is one round trip, answered while plotly.js starts up, and then the
figure's request went out behind the ten callbacks the new request sets off: the matrix, which
nothing depends on, was asked for last, at ~0.45 s of a ~1 s warm page load (bench/browser.py).
This callback hears the page's path, which no callback writes, so Dash asks for it in the page's
first round, and draws what is already stored for the URL's request with the same render. The
figure callback is held until this answer is in (it hears MATRIX_PAGE_LOAD) and then finds that
figure shown; everything not yet stored comes the usual way, as the job's reports arrive.
"""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update

from dashboard import ids
from dashboard.figures.matrix import matrix_graph_style
from dashboard.urlstate import parse
from dashboard.views.context import search_of
from dashboard.views.matrix import max_pairs_for, render
from dashboard.views.url import request_of, search_options, within_corpus


@callback(
    Output(ids.MATRIX_GRAPH, "figure", allow_duplicate=True),
    Output(ids.MATRIX_SHOWN, "data", allow_duplicate=True),
    Output(ids.MATRIX_GRAPH, "style", allow_duplicate=True),
    Output(ids.MATRIX_PAGE_LOAD, "data"),
    Input(ids.URL, "pathname"),
    Input(ids.WEBGL, "data"),
    Input(ids.MATRIX_VIEWPORT, "data"),
    State(ids.URL, "search"),
    prevent_initial_call="initial_duplicate",  # a page load is what it is for
)
def matrix_from_url(
    _path: str | None, webgl: bool | None, viewport: list | None, search: str | None
):
    """(figure, shown-state, graph box, True), or no update anywhere: the URL opens another
    view (the matrix is drawn when opened), WebGL is off (views/webgl.py says what to enable)
    or nothing of the URL's matrix is stored yet (or its request is an error)."""
    skip = (no_update,) * 4
    state = within_corpus(parse(search))
    if state.view != "matrix" or webgl is not True:
        return skip
    request = request_of(state, None)
    figure, shown = render(
        request,
        state.color,
        None,
        False,
        search_of(state.search, search_options(state)),
        align=state.align,
        max_pairs=max_pairs_for(request, viewport),
    )
    if shown is None:
        return skip
    return figure, shown, matrix_graph_style(request), True
