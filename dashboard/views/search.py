"""The search summary: how many tokens match, with examples, or why the pattern is invalid."""

from __future__ import annotations

import numpy as np
from dash import Input, Output, callback, html

from dashboard import ids
from dashboard.errors import InputError
from dashboard.figures.hover import display
from dashboard.search import lowercased, match_tokens
from dashboard.views.context import resolve, search_of

LOWERCASED = (
    "This model's tokenizer lowercases the text: every token is lowercase, "
    "so “case” and capital letters find nothing more."
)


def search_summary(request: dict | None, text: str | None, options: list[str] | None) -> list | str:
    """How many tokens match, with a few examples in context — or why the search is invalid."""
    search = search_of(text, options)
    context = resolve(request)
    if search is None or context is None:
        return ""
    table = context.table
    if table is None:
        return "Search runs once the queries and keys are extracted."
    text = search["text"]
    # said whenever case could matter: "case" is on, or the search has a capital letter
    lower = (
        [html.Br(), html.Span(LOWERCASED, className="search-note")]
        if (search["case"] or text != text.lower()) and lowercased(table)
        else []
    )
    try:
        hits = np.flatnonzero(
            match_tokens(table, text, search["regex"], search["case"], search["whole"])
        )
    except InputError as exc:
        return str(exc)
    whole = " as a whole token" if search["whole"] else ""
    if not len(hits):
        return [f"No token matches “{text}”{whole}.", *lower]
    examples = [display(str(table.token[i])).strip() for i in hits[:8]]
    return [
        html.Mark(f"{len(hits):,} tokens"),
        f" match “{text}”{whole}: {len(hits):,} queries and {len(hits):,} keys highlighted "
        "in every head (e.g. ",
        ", ".join(dict.fromkeys(examples)),
        ").",
        *lower,
    ]


@callback(
    Output(ids.SEARCH_INFO, "children"),
    Input(ids.REQUEST, "data"),
    Input(ids.SEARCH, "value"),
    Input(ids.SEARCH_OPTIONS, "value"),
    Input(ids.JOB_PROGRESS, "data"),  # not the result: see views/legend.py
)
def search_info(request, text, options, _result):
    return search_summary(request, text, options)
