"""The colour legend and the colour schemes that fit the model."""

from __future__ import annotations

import numpy as np
from dash import Input, Output, callback, html

from dashboard import ids
from dashboard.catalog import current
from dashboard.figures.colors import SCHEMES, coloring, legend_entries, schemes_for
from dashboard.views.context import resolve


def legend_items(scheme: str, entries: list[tuple[str, str]] | None = None) -> list:
    swatches = [
        html.Span(
            [html.Span(className="swatch", style={"background": colour}), label],
            className="legend-item",
        )
        for colour, label in (entries or legend_entries(scheme))
    ]
    return [html.Span(SCHEMES[scheme].explanation, className="legend-text"), *swatches]


def modality_of(model_id: str | None) -> str:
    spec = current().registry.models.get(model_id or "")
    return spec.modality if spec else "text"


@callback(
    Output(ids.LEGEND, "children"),
    Input(ids.COLOR, "value"),
    Input(ids.MODEL, "value"),
    Input(ids.REQUEST, "data"),
    # progress, not the job's result: the renderer holds back a callback whose input is the
    # output of a running job, and the job runs on (metrics) long after the maps are drawn
    Input(ids.JOB_PROGRESS, "data"),
)
def legend(scheme, model_id, request, _result):
    fitting = schemes_for(modality_of(model_id))
    scheme = scheme if scheme in fitting else "role"
    if scheme != "label":
        return legend_items(scheme)
    names = corpus_labels(request)
    if not names:
        return legend_items("role")  # no labels in this corpus: the maps show query vs key
    return legend_items("label", coloring("label", label_table(len(names)), names).legend)


def corpus_labels(request: dict | None) -> list[str]:
    context = resolve(request)
    if context is None:
        return []
    return (current().store.load_meta(context.subject.tokens_key) or {}).get("labels", [])


def label_table(n: int):
    from dashboard.models.qk import TokenTable

    return TokenTable(
        np.array(["a"] * n),
        np.arange(n, dtype=np.int32),
        np.zeros(n, np.int32),
        np.ones(n, np.int32),
        np.zeros(n, bool),
        label=np.arange(n, dtype=np.int32),
    )


@callback(
    Output(ids.COLOR, "options"),
    Input(ids.MODEL, "value"),
    Input(ids.REQUEST, "data"),
    Input(ids.JOB_PROGRESS, "data"),  # the labels are known once the corpus is extracted
)
def colour_options(model_id, request, _result):
    """Text models get text schemes; the vision model gets patch row/column/hue/brightness.
    "Label" is offered, greyed out with the reason, only to corpora that have no label column."""
    labelled = bool(corpus_labels(request))
    return [
        {
            "label": SCHEMES[k].label
            if k != "label" or labelled
            else f"{SCHEMES[k].label} (this corpus has no label column: upload a CSV with one)",
            "value": k,
            "disabled": k == "label" and not labelled,
        }
        for k in schemes_for(modality_of(model_id))
    ]
