"""The page: header, controls, job panel, and the matrix and single-head sections.

Both views live in one page and the URL says which one shows: the matrix figure stays mounted,
so going back from a head is instant and keeps its zoom.
"""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.catalog import current
from dashboard.components.controls import controls
from dashboard.components.panels import about, alert, data_panel, job_panel, sentence_section
from dashboard.figures.matrix import LOADING
from dashboard.views.matrix import graph_style

GRAPH_CONFIG = {"displaylogo": False, "plotGlPixelRatio": 1, "responsive": True}


def layout() -> html.Div:
    svc = current()
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Store(id=ids.VIEW, data={"view": "matrix"}),
            dcc.Store(id=ids.REQUEST),
            dcc.Store(id=ids.JOB_PROGRESS),
            dcc.Store(id=ids.JOB_RESULT),
            dcc.Store(id=ids.MATRIX_SHOWN),
            dcc.Store(id=ids.HEAD_SHOWN),
            dcc.Store(id=ids.SENTENCE_SHOWN),
            dcc.Store(id=ids.DATA_CORPORA, storage_type="local", data=[]),
            html.Header(
                [
                    html.H1("QK Atlas"),
                    html.Span(
                        "how every attention head matches queries to keys", className="tagline"
                    ),
                ],
                className="header",
            ),
            controls(svc.registry),
            html.Div(id=ids.MODEL_INFO, className="model-info"),
            data_panel(svc.settings.limits.max_upload_bytes / 1e6),
            job_panel(),
            alert(),
            html.Div(id=ids.LEGEND, className="legend"),
            html.Div(id=ids.SEARCH_INFO, className="search-info"),
            html.Section(
                [
                    html.P(
                        "Every head of every layer. Click a head to open it; drag to zoom, "
                        "double-click to reset.",
                        id=ids.MATRIX_NOTE,
                        className="hint",
                    ),
                    dcc.Graph(
                        id=ids.MATRIX_GRAPH,
                        figure=LOADING,  # not Plotly's empty axes while the first map loads
                        style=graph_style(None),  # a box for it before the model is known
                        config=GRAPH_CONFIG,
                        className="matrix-graph",
                    ),
                ],
                id=ids.MATRIX_SECTION,
            ),
            html.Section(
                [
                    html.Div(
                        [
                            html.Button("← All heads", id=ids.HEAD_BACK, className="btn btn-quiet"),
                            html.H2(id=ids.HEAD_TITLE),
                            html.Button(
                                "Sentence view →",
                                id=ids.HEAD_TO_SENTENCE,
                                className="btn btn-quiet",
                                title="The selected token's sentence (or the first) as query→key links",
                            ),
                        ],
                        className="row",
                    ),
                    html.P(id=ids.HEAD_NOTE, className="hint"),
                    html.Div(
                        [
                            html.Label(
                                [
                                    "Lines to the top ",
                                    dcc.Input(
                                        id=ids.HEAD_TOP_K,
                                        type="number",
                                        min=1,
                                        max=5,
                                        step=1,
                                        value=2,
                                        className="num",
                                    ),
                                ]
                            ),
                            html.Label(
                                [
                                    " keys with weight ≥ ",
                                    dcc.Input(
                                        id=ids.HEAD_MIN_WEIGHT,
                                        type="number",
                                        min=0,
                                        max=1,
                                        step=0.01,
                                        value=0.05,
                                        className="num",
                                    ),
                                ]
                            ),
                            html.Span(" — hover a point; click to pin it.", className="hint"),
                            dcc.Checklist(
                                id=ids.HEAD_SIZE,
                                options=[{"label": "dot size by vector norm", "value": "norm"}],
                                value=[],
                                inline=True,
                            ),
                        ],
                        className="row link-controls",
                    ),
                    html.Div(
                        [
                            dcc.Graph(
                                id=ids.HEAD_GRAPH,
                                config=GRAPH_CONFIG,
                                className="head-graph",
                                clear_on_unhover=True,
                            ),
                            html.Div(
                                "Hover or click a point to see its strongest attention links.",
                                id=ids.HEAD_PANEL,
                                className="head-panel",
                            ),
                        ],
                        className="head-body",
                    ),
                ],
                id=ids.HEAD_SECTION,
                hidden=True,
            ),
            sentence_section(),
            about(),
        ],
        className="page",
    )
