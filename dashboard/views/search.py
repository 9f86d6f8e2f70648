"""The search summary: how many tokens match, with examples, or why the pattern is invalid."""

from __future__ import annotations

import numpy as np
from dash import Input, Output, callback, html

from dashboard import ids
from dashboard.errors import InputError
from dashboard.figures.hover import display
from dashboard.search import match_tokens
from dashboard.views.context import resolve


def search_summary(request: dict | None, text: str | None, options: list[str] | None) -> list | str:
    """How many tokens match, with a few examples in context — or why the search is invalid."""
    text = (text or "").strip()
    context = resolve(request)
    if not text or context is None:
        return ""
    table = context.table
    if table is None:
        return "Search runs once the queries and keys are extracted."
    options = options or []
    try:
        hits = np.flatnonzero(match_tokens(table, text, "regex" in options, "case" in options))
    except InputError as exc:
        return str(exc)
    if not len(hits):
        return f"No token matches “{text}”."
    examples = [display(str(table.token[i])).strip() for i in hits[:8]]
    return [
        html.Mark(f"{len(hits):,} tokens"),
        f" match “{text}”: {len(hits):,} queries and {len(hits):,} keys highlighted in every head (e.g. ",
        ", ".join(dict.fromkeys(examples)),
        ").",
    ]


@callback(
    Output(ids.SEARCH_INFO, "children"),
    Input(ids.REQUEST, "data"),
    Input(ids.SEARCH, "value"),
    Input(ids.SEARCH_OPTIONS, "value"),
    Input(ids.JOB_RESULT, "data"),
)
def search_info(request, text, options, _result):
    return search_summary(request, text, options)
