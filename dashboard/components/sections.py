"""The views' sections: matrix, single head, sentence (and image). One shows at a time (the URL
says which); each is a card that fills the width the sidebar leaves."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.export import PAGE_STEM, graph_config
from dashboard.figures.matrix import LOADING, matrix_graph_style
from dashboard.figures.metrics import metric_options
from dashboard.projection.joint import EQUAL, RATIOS

GRAPH_CONFIG = graph_config(PAGE_STEM)  # views/export.py names the images each view saves
BACK = "btn btn-sm btn-outline-secondary"
PLACE_MAX_CHARS = 500  # a dropped sentence: one sentence, not a document


def _num(cid: str, **props) -> dcc.Input:
    return dcc.Input(id=cid, type="number", className="form-control form-control-sm num", **props)


def matrix_section() -> html.Section:
    return html.Section(
        [
            html.Div(
                [
                    html.P(
                        "Every head of every layer. Click a head to open it; drag to zoom, "
                        "double-click to reset.",
                        id=ids.MATRIX_NOTE,
                        className="hint mb-0",
                    ),
                    html.Button(
                        "Head similarity →",
                        id=ids.MATRIX_TO_SIMILARITY,
                        className=BACK,
                        title="Every head as one point, placed by how alike their attention is",
                    ),
                    html.Button(
                        "Compare models ⇆",
                        id=ids.MATRIX_TO_COMPARE,
                        className=BACK,
                        title="This model's matrix beside another model's, on this corpus",
                    ),
                ],
                className="view-bar",
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
                    html.Button(
                        "Compare ⇆",
                        id=ids.HEAD_TO_COMPARE,
                        className=BACK,
                        title="This head beside another (of this model or another, on this corpus)",
                    ),
                    html.Span(
                        [
                            html.Button(
                                "⤓ CSV",
                                id=ids.HEAD_CSV,
                                className=BACK,
                                title="This head's coordinates with role, token, sentence and "
                                "position (one row per query and per key)",
                            ),
                            html.Button(
                                "⤓ npz",
                                id=ids.HEAD_NPZ,
                                className=BACK,
                                title="The same as NumPy arrays: coords, role, token, sentence, "
                                "position",
                            ),
                            dcc.Download(id=ids.HEAD_DOWNLOAD),
                        ],
                        className="downloads",
                        title="Download this head's map",
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
                    dcc.Input(
                        id=ids.PLACE_TEXT,
                        type="text",
                        placeholder="Drop a sentence into this map (placed, not refitted)…",
                        maxLength=PLACE_MAX_CHARS,
                        className="form-control form-control-sm place-text",
                    ),
                    html.Button("Place", id=ids.PLACE_SUBMIT, className=BACK),
                    html.Button(
                        "Its sentence view ↓",
                        id=ids.PLACE_SHOW_SENTENCE,
                        className=BACK,
                        hidden=True,
                        title="The placed sentence's query→key links in this head",
                    ),
                    html.Span(id=ids.PLACE_NOTE, className="hint"),
                    dcc.Store(id=ids.PLACED),
                ],
                className="view-bar place-bar",
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
                        [
                            html.Div(
                                "Hover or click a point to see its strongest attention links.",
                                id=ids.HEAD_PANEL,
                                className="head-panel",
                            ),
                            html.Div(id=ids.HEAD_SIMILAR, className="head-panel"),
                            scale_panel(),
                        ],
                        className="head-side",
                    ),
                ],
                className="head-body",
            ),
            dcc.Graph(
                id=ids.PLACE_SENTENCE_GRAPH,
                config=GRAPH_CONFIG,
                className="head-graph sentence-graph",
                style={"display": "none"},
            ),
        ],
        id=ids.HEAD_SECTION,
        className="view",
        hidden=True,
    )


def scale_panel() -> html.Div:
    """The norm scale (it applies to every map of the request) and the open head's rho_full
    against it: the trade-off between a faithful map and a readable one, in view."""
    marks = {i: f"{RATIOS[i]:.2g}" for i in (0, EQUAL - 2, EQUAL, EQUAL + 2, len(RATIOS) - 1)}
    return html.Div(
        [
            html.H3(
                "Norm scale",
                title="Keys ÷ c, queries × c: no attention weight changes, the picture does",
            ),
            dcc.Slider(
                id=ids.SCALE,
                min=0,
                max=len(RATIOS) - 1,
                step=1,
                value=EQUAL,
                marks={i: {"label": label} for i, label in marks.items()},
                included=False,
            ),
            html.Div(
                [
                    html.Button("Equal norms", id=ids.HEAD_SCALE_EQUAL, className=BACK),
                    html.Button(
                        "Most faithful readable",
                        id=ids.HEAD_SCALE_FAITHFUL,
                        className=BACK,
                        title="The scale with this head's best ρ_full inside the readable band",
                    ),
                ],
                className="view-bar",
            ),
            dcc.Graph(
                id=ids.HEAD_SCALE_CURVE,
                config={"displayModeBar": False, "responsive": True},
                style={"height": "200px"},
            ),
            html.P(id=ids.HEAD_SCALE_NOTE, className="context"),
        ],
        className="head-panel scale-panel",
    )


def similarity_section() -> html.Section:
    return html.Section(
        [
            html.Div(
                [
                    html.Button("← All heads", id=ids.SIMILARITY_BACK, className=BACK),
                    html.H2("Head similarity"),
                ],
                className="view-bar",
            ),
            html.P(id=ids.SIMILARITY_NOTE, className="hint"),
            dcc.Graph(
                id=ids.SIMILARITY_GRAPH,
                config={"displaylogo": False, "responsive": True},
                style={"height": "560px"},
            ),
        ],
        id=ids.SIMILARITY_SECTION,
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
                        config=GRAPH_CONFIG,
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
                                config=GRAPH_CONFIG,
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


def _pane(side: str, layer_id: str, head_id: str, graph_id: str, note_id: str, model=None):
    controls = [
        html.Strong(side),
        *([model] if model is not None else []),
        html.Label(["layer ", _num(layer_id, min=0, step=1, debounce=True)]),
        html.Label(["head ", _num(head_id, min=0, step=1, debounce=True)]),
    ]
    return html.Div(
        [
            html.Div(controls, className="view-bar link-controls"),
            html.P(id=note_id, className="hint"),
            dcc.Graph(id=graph_id, config=GRAPH_CONFIG, className="compare-graph"),
        ],
        className="compare-pane",
    )


def compare_section(models: list[dict]) -> html.Section:
    """Two heads side by side on one corpus; hovering a token rings it in both panes."""
    b_model = dcc.Dropdown(
        id=ids.COMPARE_B_MODEL, options=models, clearable=False, className="compare-model"
    )
    return html.Section(
        [
            html.Div(
                [
                    html.Button("← Head map", id=ids.COMPARE_BACK, className=BACK),
                    dcc.RadioItems(
                        id=ids.COMPARE_PANES,
                        options=[
                            {"label": "Two heads", "value": "heads"},
                            {"label": "Two models' matrices", "value": "matrices"},
                        ],
                        value="heads",
                        inline=True,
                        className="checks",
                        inputClassName="form-check-input",
                    ),
                    html.Span(
                        "Pane A follows the sidebar; pane B maps the same corpus with the same "
                        "projection. Heads: hover a token to ring it in both. Matrices: click a "
                        "cell to open that head in its pane.",
                        className="hint",
                    ),
                ],
                className="view-bar",
            ),
            html.Div(
                [
                    _pane(
                        "A",
                        ids.COMPARE_A_LAYER,
                        ids.COMPARE_A_HEAD,
                        ids.COMPARE_A_GRAPH,
                        ids.COMPARE_A_NOTE,
                    ),
                    _pane(
                        "B",
                        ids.COMPARE_B_LAYER,
                        ids.COMPARE_B_HEAD,
                        ids.COMPARE_B_GRAPH,
                        ids.COMPARE_B_NOTE,
                        b_model,
                    ),
                ],
                className="compare-body",
            ),
            dcc.Store(id=ids.COMPARE_SHOWN),
        ],
        id=ids.COMPARE_SECTION,
        className="view",
        hidden=True,
    )
