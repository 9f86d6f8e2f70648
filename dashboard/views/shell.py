"""The page: navbar, collapsible settings sidebar, and the open view filling the rest.

Every view lives in one page and the URL says which one shows: the matrix figure stays mounted,
so going back from a head is instant and keeps its zoom.
"""

from __future__ import annotations

from dash import Input, Output, State, clientside_callback, dcc, html

from dashboard import ids
from dashboard.auth import current_user
from dashboard.catalog import current
from dashboard.components.controls import model_options, sidebar
from dashboard.components.navbar import navbar
from dashboard.components.panels import about, alert
from dashboard.components.sections import (
    compare_section,
    head_section,
    matrix_section,
    sentence_section,
    similarity_section,
)
from dashboard.views.measure import POLL_MS as METRICS_POLL_MS


def layout() -> html.Div:
    svc = current()
    stores = [
        dcc.Location(id=ids.URL, refresh="callback-nav"),
        dcc.Store(id=ids.VIEW, data={"view": "matrix"}),
        *(dcc.Store(id=store) for store in ids.VIEW_GATES + ids.ANALYSIS_GATES),
        dcc.Store(id=ids.WEBGL),  # set by assets/webgl.js: False without WebGL
        dcc.Store(id=ids.REQUEST),
        dcc.Store(id=ids.JOB_WANTED),
        dcc.Store(id=ids.JOB_PROGRESS),
        dcc.Store(id=ids.JOB_RESULT),
        dcc.Store(id=ids.MATRIX_SHOWN),
        dcc.Store(id=ids.MATRIX_VIEWPORT),  # set by assets/matrix.js
        dcc.Store(id=ids.MATRIX_PAGE_LOAD),
        dcc.Store(id=ids.HEAD_SHOWN),
        dcc.Store(id=ids.HEAD_FIGURE),
        dcc.Store(id=ids.IMAGE_NAMES),
        dcc.Store(id=ids.IMAGE_NAMES_SET),
        dcc.Store(id=ids.HEAD_HOVER),
        dcc.Store(id=ids.SENTENCE_SHOWN),
        dcc.Store(id=ids.METRICS),
        dcc.Interval(id=ids.METRICS_POLL, interval=METRICS_POLL_MS, disabled=True),
        dcc.Store(id=ids.ANALYSIS_WANTED),
        dcc.Store(id=ids.ANALYSIS),
        dcc.Store(id=ids.DATA_CORPORA, storage_type="local", data=[]),
    ]
    main = html.Main(
        [
            alert(),
            html.Div(
                [
                    html.Div(id=ids.LEGEND, className="legend"),
                    html.Div(id=ids.SEARCH_INFO, className="search-info"),
                    dcc.Clipboard(  # views/export.py fills in the URL as it is clicked
                        id=ids.COPY_LINK,
                        children="Copy link",
                        copied_children="Link copied",
                        title="Copy a link to this view (model, corpus, map, colours, search)",
                        className="copy-link btn btn-sm btn-outline-secondary",
                    ),
                ],
                className="legend-bar",
            ),
            matrix_section(),
            head_section(),
            sentence_section(),
            similarity_section(),
            compare_section(model_options(svc.registry)),
            about(),
        ],
        className="main",
    )
    return html.Div(
        [
            *stores,
            # the layout is built per page load, inside the request: its user is known here
            navbar(current_user(), svc.settings.auth.mode == "oidc"),
            html.Div(
                [sidebar(svc.registry, svc.settings.limits.max_upload_bytes / 1e6), main],
                className="shell",
            ),
        ],
        className="page",
    )


# A graph whose figure sets its own height gets that height as its box: otherwise dcc.Graph makes
# a responsive graph 100 % of its parent's height, which is nothing in a page that scrolls (the
# drawing overflowed its card, and the head graph shrank to its side panel's height). Width
# stays responsive: the figure fills whatever the sidebar leaves.
# (The matrix sizes its box to its grid, views/matrix.py; the head graph has a CSS height,
# assets/views-head.css.)
for graph in (ids.SENTENCE_GRAPH, ids.IMAGE_MAP):
    clientside_callback(
        """function (figure, style) {
            const h = (figure && figure.layout && figure.layout.height) || 450;
            const height = `${h}px`;
            return style && style.height === height ? window.dash_clientside.no_update : {height};
        }""",
        Output(graph, "style"),
        Input(graph, "figure"),
        State(graph, "style"),
    )

# The sidebar toggles in the browser; plotly graphs listen to window resizes, so one is sent
# once the sidebar's width transition (0.35 s) has ended and the view has its new width.
clientside_callback(
    """function (_, open) {
        setTimeout(() => window.dispatchEvent(new Event('resize')), 400);
        return !open;
    }""",
    Output(ids.SIDEBAR, "is_open"),
    Input(ids.SIDEBAR_TOGGLE, "n_clicks"),
    State(ids.SIDEBAR, "is_open"),
    prevent_initial_call=True,
)
