"""The single-head view's fidelity badge: can this map be read as attention? Plus the head's
metrics in a small table. Numbers come from the workers' cache (analytics.metrics)."""

from __future__ import annotations

from dash import Input, Output, callback, html, no_update

from dashboard import ids
from dashboard.analytics.metrics import HEAD_METRICS, levels
from dashboard.figures.metrics import (
    LABELS,
    LEVEL_COLORS,
    LEVEL_WORDS,
    explain,
    fmt,
)
from dashboard.projection.methods import METHODS
from dashboard.views.context import head_on_show

PENDING = "Map fidelity and head metrics: measured on the workers once every map is drawn…"


def badge(m: dict | None, method: str) -> list:
    """The badge (coloured by rho_map against its random-projection floor) and the metrics."""
    if m is None:
        return [html.Span(PENDING.replace("every map", f"every {method} map"), className="hint")]
    level = levels(m)["map"]

    def number(name: str) -> html.Span:
        return html.Span(fmt(m.get(name)), className="v", **{"data-metric": name})

    numbers = html.Div(
        [
            html.Span("Map fidelity: ", className="name"),
            html.Span(
                [
                    "ρ map ",
                    number("rho_map"),
                    " of ρ full ",
                    number("rho_full"),
                    " (random projection ",
                    number("rho_random"),
                    ") · trustworthiness ",
                    number("trustworthiness"),
                    " · top-2 recall ",
                    number("topk_recall"),
                ],
                className="numbers",
                **{"data-level": level},
            ),
        ]
    )
    why = html.Div(
        f"{level.capitalize()}: {LEVEL_WORDS[level]}. ρ = Spearman of q·k with −distance "
        "per query over its sentence's keys; ρ full is the ceiling in the head's own space.",
        className="why",
    )
    badge = html.Div(
        [numbers, why],
        className="fidelity-badge",
        style={"--level": LEVEL_COLORS[level]},
        title=" · ".join(
            f"{LABELS[n]}: {explain(n)}"
            for n in ("rho_full", "rho_map", "trustworthiness", "topk_recall")
        ),
    )
    cells = (
        [html.Td(LABELS[name], title=explain(name)) for name in HEAD_METRICS],
        [
            html.Td(fmt(m.get(name)), className="v", **{"data-metric": name})
            for name in HEAD_METRICS
        ],
    )
    half = len(HEAD_METRICS) // 2
    table = html.Table(
        [
            html.Tr(
                [x for pair in zip(cells[0][:half], cells[1][:half], strict=True) for x in pair]
            ),
            html.Tr(
                [x for pair in zip(cells[0][half:], cells[1][half:], strict=True) for x in pair]
            ),
        ],
        className="head-metrics",
    )
    return [badge, table]


@callback(
    Output(ids.HEAD_FIDELITY, "children"),
    Input(ids.HEAD_VIEW, "data"),
    Input(ids.HEAD_REQUEST, "data"),
    Input(ids.HEAD_PROGRESS, "data"),
    Input(ids.HEAD_METRICS, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def show_fidelity(view, request, _progress, _measured):
    opened = head_on_show(view, request)
    if opened is None:
        return no_update
    context, layer, head = opened
    if context.subject.model.missing_head(layer, head):
        return []
    return badge(context.metrics(layer, head), METHODS[context.params.method])
