"""Head-similarity view: every head of the model as one point, placed by how alike the heads'
attention is (analytics/similarity.py); a click opens the head. And, in the single-head view,
the five heads most like the open one, as links."""

from __future__ import annotations

from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import ids
from dashboard.analytics.similarity import most_similar
from dashboard.figures.similarity import head_of_point, similarity_figure
from dashboard.urlstate import parse
from dashboard.views.context import EMPTY, failure, head_on_show, resolve

N_SIMILAR = 5
COMPUTING = "Computing how alike every pair of heads attends (a few seconds once per corpus)…"


def render(view: dict | None, request: dict | None, analysis: dict | None):
    """(figure, note) of the similarity view; no_update while another view shows."""
    context = resolve(request)
    if not view or view.get("view") != "similarity" or context is None:
        return no_update, no_update
    found = context.similarity()
    if found is None:
        return EMPTY, failure(analysis, request) or COMPUTING
    model = context.subject.model
    figure = similarity_figure(
        found["coords"],
        found["heads"],
        model.n_layers,
        f"{model.name}: {model.n_layers * model.n_heads} heads",
    )
    note = (
        "Each point is a head; near points attend alike: the Jensen–Shannon distance between "
        "their attention distributions, averaged over the corpus's queries, laid out by MDS. "
        "Colour: layer. Click a point to open its head."
    )
    return figure, note


@callback(
    Output(ids.SIMILARITY_GRAPH, "figure"),
    Output(ids.SIMILARITY_NOTE, "children"),
    Input(ids.SIMILARITY_VIEW, "data"),
    Input(ids.SIMILARITY_REQUEST, "data"),
    Input(ids.SIMILARITY_ANALYSIS, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def update_similarity(view, request, analysis):
    return render(view, request, analysis)


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.SIMILARITY_GRAPH, "clickData"),
    State(ids.URL, "search"),
    State(ids.REQUEST, "data"),
    prevent_initial_call=True,
)
def open_head(click, search, request):
    """The same move as a click on a matrix cell: the URL opens the head."""
    if not click or not request or request.get("error"):
        return no_update
    target = head_of_point(click["points"][0], request["n_layers"], request["n_heads"])
    return no_update if target is None else parse(search).open_head(*target).to_search()


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.MATRIX_TO_SIMILARITY, "n_clicks"),
    Input(ids.SIMILARITY_BACK, "n_clicks"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def switch(to_similarity, back, search):
    if ctx.triggered_id == ids.MATRIX_TO_SIMILARITY and to_similarity:
        return parse(search).open_similarity().to_search()
    if ctx.triggered_id == ids.SIMILARITY_BACK and back:
        return parse(search).close_head().to_search()
    return no_update


def similar_heads(view: dict | None, request: dict | None, analysis: dict | None, search: str):
    """The heads most like the open one, nearest first, as links (the URL opens them)."""
    opened = head_on_show(view, request)
    if opened is None:
        return no_update
    context, layer, head = opened
    if context.subject.model.missing_head(layer, head):
        return []
    title = html.H3("Most similar heads", title="Jensen–Shannon distance of attention, 0–1")
    found = context.similarity()
    if found is None:
        message = failure(analysis, request) or "computing…"
        return [title, html.P(message, className="context")]
    n_heads = context.subject.model.n_heads
    state = parse(search)
    items = []
    for index, distance in most_similar(found["distances"], layer * n_heads + head, N_SIMILAR):
        other_layer, other_head = divmod(index, n_heads)
        items.append(
            html.Li(
                [
                    dcc.Link(
                        f"Layer {other_layer} · head {other_head}",
                        href=state.open_head(other_layer, other_head).to_search(),
                    ),
                    html.Span(f" {distance:.3f}", className="weight"),
                ]
            )
        )
    return [title, html.Ol(items)]


@callback(
    Output(ids.HEAD_SIMILAR, "children"),
    Input(ids.HEAD_VIEW, "data"),
    Input(ids.HEAD_REQUEST, "data"),
    Input(ids.HEAD_ANALYSIS, "data"),
    Input(ids.HEAD_SEARCH, "data"),  # the links carry the rest of the state
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def update_similar_heads(view, request, analysis, search):
    return similar_heads(view, request, analysis, search)
