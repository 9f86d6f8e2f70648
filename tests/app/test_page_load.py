"""A page load's matrix, straight from its URL (views/page_load.py)."""

from dataclasses import replace

import pytest
from dash import no_update

from dashboard.figures.matrix import matrix_graph_style
from dashboard.urlstate import UrlState
from dashboard.views import matrix, page_load
from dashboard.views.context import search_of

VIEWPORT = [1200, 800]


def _search(request: dict, **changes) -> str:
    state = UrlState(model=request["model"], corpus=request["corpus"])
    return replace(state, **changes).to_search()


def test_the_urls_stored_matrix_is_drawn_and_the_figure_callback_finds_it_shown(svc, tiny_request):
    search = _search(tiny_request, color="position", search="the", whole=True)
    figure, shown, style, page_load_set = page_load.matrix_from_url("/", True, VIEWPORT, search)

    pairs = matrix.max_pairs_for(tiny_request, VIEWPORT)
    words = search_of("the", ["whole"])
    assert (figure, shown) == matrix.render(
        tiny_request, "position", None, False, words, max_pairs=pairs
    )
    assert shown["search"] == words and shown["color"] == "position"
    assert style == matrix_graph_style(tiny_request) and page_load_set is True
    # the figure callback's own call for that request (once the URL callback has resolved it)
    assert matrix.render(tiny_request, "position", shown, False, words, max_pairs=pairs) == (
        no_update,
        no_update,
    )
    # what the page then changes is drawn
    recoloured, _ = matrix.render(tiny_request, "role", shown, False, words, max_pairs=pairs)
    assert isinstance(recoloured, dict)


@pytest.mark.parametrize(
    "changes, webgl",
    [
        ({"view": "head", "layer": 0, "head": 1}, True),  # the matrix is drawn when opened
        ({}, False),  # no WebGL: views/webgl.py says what to enable
        ({"corpus": "default"}, True),  # nothing stored for it yet: the job's reports draw it
        ({"model": "no/such-model"}, True),  # the request is an error: the URL callback says so
    ],
)
def test_anything_else_is_left_to_the_usual_path(svc, tiny_request, changes, webgl):
    search = _search(tiny_request, **changes)
    assert page_load.matrix_from_url("/", webgl, VIEWPORT, search) == (no_update,) * 4
