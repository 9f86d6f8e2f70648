"""The views' sections: matrix, single head, sentence (and image). One shows at a time (the URL
says which); each is a card that fills the width the sidebar leaves."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.figures.matrix import LOADING, matrix_graph_style
from dashboard.figures.metrics import metric_options

GRAPH_CONFIG = {"displaylogo": False, "plotGlPixelRatio": 1, "responsive": True}
BACK = "btn btn-sm btn-outline-secondary"


def _num(cid: str, **props) -> dcc.Input:
    return dcc.Input(id=cid, type="number", className="form-control form-control-sm num", **props)


def matrix_section() -> html.Section:
    return html.Section(
        [
            html.P(
                "Every head of every layer. Click a head to open it; drag to zoom, "
                "double-click to reset.",
                id=ids.MATRIX_NOTE,
                className="hint",
            ),
            matrix_metric_controls(),
            html.Div(id=ids.WEBGL_MESSAGE, className="webgl-message", hidden=True),
            dcc.Graph(
                id=ids.MATRIX_GRAPH,
                figure=LOADING,  # not Plotly's empty axes while the first map loads
                style=matrix_graph_style(None),  # a box for it before the model is known
                config=GRAPH_CONFIG,
                className="matrix-graph",
            ),
        ],
        id=ids.MATRIX_SECTION,
        className="view",
    )


def matrix_metric_controls() -> html.Div:
    """Colour the cells by a head metric, sort each layer's heads by it, dim unfaithful maps."""
    return html.Div(
        [
            html.Label("Colour cells by", htmlFor=ids.MATRIX_METRIC),
            dcc.Dropdown(
                id=ids.MATRIX_METRIC,
                options=metric_options(),
                value=None,
                placeholder="a head metric…",
                clearable=True,
                className="dd-metric",
            ),
            dcc.Checklist(
                id=ids.MATRIX_SORT,
                options=[{"label": "sort each layer's heads by it", "value": "sort"}],
                value=[],
                inline=True,
                className="checks",
                inputClassName="form-check-input",
            ),
            dcc.Checklist(
                id=ids.MATRIX_DIM,
                options=[
                    {
                        "label": "dim heads whose map is unfaithful",
                        "value": "dim",
                        "title": "Faint: maps whose ρ (q·k vs −distance) is no better than a "
                        "random projection's",
                    }
                ],
                value=[],
                inline=True,
                className="checks",
                inputClassName="form-check-input",
            ),
        ],
        className="view-bar link-controls metric-controls",
        title="Head metrics and map fidelity are measured on the workers after the maps",
    )


def head_section() -> html.Section:
    return html.Section(
        [
            html.Div(
                [
                    html.Button("← All heads", id=ids.HEAD_BACK, className=BACK),
                    html.H2(id=ids.HEAD_TITLE),
                    html.Button(
                        "Sentence view →",
                        id=ids.HEAD_TO_SENTENCE,
                        className=BACK,
                        title="The selected token's sentence (or the first) as query→key links",
                    ),
                ],
                className="view-bar",
            ),
            html.P(id=ids.HEAD_NOTE, className="hint"),
            html.Div(id=ids.HEAD_FIDELITY, className="fidelity"),
            html.Div(
                [
                    html.Label(
                        ["Lines to the top ", _num(ids.HEAD_TOP_K, min=1, max=5, step=1, value=2)]
                    ),
                    html.Label(
                        [
                            " keys with weight ≥ ",
                            _num(ids.HEAD_MIN_WEIGHT, min=0, max=1, step=0.01, value=0.05),
                        ]
                    ),
                    html.Span(" — hover a point; click to pin it.", className="hint"),
                    dcc.Checklist(
                        id=ids.HEAD_SIZE,
                        options=[{"label": "dot size by vector norm", "value": "norm"}],
                        value=[],
                        inline=True,
                        className="checks",
                        inputClassName="form-check-input",
                    ),
                ],
                className="view-bar link-controls",
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
        className="view",
        hidden=True,
    )


def sentence_section() -> html.Section:
    return html.Section(
        [
            html.Div(
                [
                    html.Button("← Head map", id=ids.SENTENCE_BACK, className=BACK),
                    html.Label(
                        [
                            "Sentence or image ",
                            _num(ids.SENTENCE_PICK, min=0, step=1, debounce=True),
                        ]
                    ),
                ],
                className="view-bar",
            ),
            html.Div(
                [
                    dcc.RadioItems(
                        id=ids.SENTENCE_SCOPE,
                        options=[
                            {"label": "This head", "value": "head"},
                            {"label": "Mean of the layer's heads", "value": "layer"},
                            {"label": "Mean of every head", "value": "model"},
                        ],
                        value="head",
                        inline=True,
                        className="checks",
                        inputClassName="form-check-input",
                    ),
                    dcc.Checklist(
                        id=ids.SENTENCE_HIDE_FIRST,
                        options=[
                            {
                                "label": "Hide a special first token ([CLS]/BOS) and renormalise",
                                "value": "hide",
                            }
                        ],
                        value=[],
                        inline=True,
                        className="checks",
                        inputClassName="form-check-input",
                    ),
                ],
                className="view-bar link-controls",
            ),
            html.P(id=ids.SENTENCE_NOTE, className="hint"),
            html.Div(
                [
                    dcc.Graph(
                        id=ids.SENTENCE_GRAPH,
                        config={"displaylogo": False, "responsive": True},
                        className="head-graph sentence-graph",
                        clear_on_unhover=True,
                    ),
                    html.Div(
                        [
                            html.P(
                                "This head's queries and keys of the image's tokens: hover a point to "
                                "outline its patch in the image.",
                                className="hint",
                            ),
                            dcc.Graph(
                                id=ids.IMAGE_MAP,
                                config={"displaylogo": False, "responsive": True},
                                className="head-graph",
                                clear_on_unhover=True,
                            ),
                        ],
                        id=ids.IMAGE_MAP_WRAP,
                        className="image-map",
                        hidden=True,
                    ),
                    dcc.Store(id=ids.IMAGE_MAP_SHOWN),
                ],
                className="image-body",
            ),
        ],
        id=ids.SENTENCE_SECTION,
        className="view",
        hidden=True,
    )
