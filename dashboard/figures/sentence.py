"""Sentence view: queries on the left, keys on the right, a line per link with opacity = weight.

Lines are grouped into a few opacity levels (one trace each, segments split by None), so a
60-token sentence (3,600 links) stays a handful of traces. Hovering a token highlights its links.
"""

from __future__ import annotations

import html

import numpy as np

LEVELS = 8  # opacity levels for the link lines
MIN_WEIGHT = 0.01  # links below this are not drawn (they would be invisible anyway)
QUERY, KEY, LINE = "#1b9e77", "#e7298a", "20, 33, 61"


def renormalise_without_first(weights: np.ndarray) -> np.ndarray:
    """Drops the first token ([CLS]/BOS, often an attention sink) and renormalises each row."""
    rest = weights[1:, 1:]
    total = rest.sum(axis=1, keepdims=True)
    return np.divide(rest, total, out=np.zeros_like(rest), where=total > 0)


def _segments(pairs: np.ndarray, n: int) -> tuple[list, list]:
    xs, ys = [], []
    for i, j in pairs:
        xs += [0.0, 1.0, None]
        ys += [-float(i), -float(j), None]
    return xs, ys


def sentence_figure(
    tokens: list[str],
    weights: np.ndarray,
    title: str = "",
    focus: tuple[str, int] | None = None,
) -> dict:
    """weights [pos_q, pos_k] (rows sum to 1). `focus` = ("query" | "key", position) to highlight."""
    n = len(tokens)
    traces = []
    shown = weights >= MIN_WEIGHT
    if focus is not None:
        side, index = focus
        mask = np.zeros_like(shown)
        if side == "query":
            mask[index] = True
        else:
            mask[:, index] = True
        faded, strong = shown & ~mask, shown & mask
    else:
        faded, strong = np.zeros_like(shown), shown
    if faded.any():
        xs, ys = _segments(np.argwhere(faded), n)
        traces.append(_lines(xs, ys, 0.06, 1.0))
    edges = np.linspace(MIN_WEIGHT, 1.0, LEVELS + 1)
    for level in range(LEVELS):
        in_level = (
            strong
            & (weights >= edges[level])
            & (weights < edges[level + 1] + (level == LEVELS - 1))
        )
        if in_level.any():
            xs, ys = _segments(np.argwhere(in_level), n)
            alpha = 0.15 + 0.85 * (edges[level] + edges[level + 1]) / 2
            traces.append(_lines(xs, ys, alpha, 1.0 + 3.0 * edges[level]))
    labels = [html.escape(t) for t in tokens]
    for side, x, colour, anchor in (("query", 0.0, QUERY, "left"), ("key", 1.0, KEY, "right")):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [x] * n,
                "y": [-float(i) for i in range(n)],
                "text": labels,
                "textposition": f"middle {anchor}",
                "marker": {"size": 7, "color": colour},
                "customdata": [[side, i] for i in range(n)],
                "hovertemplate": f"{side} · %{{text}} · position %{{customdata[1]}}<extra></extra>",
                "showlegend": False,
                "name": side,
                "cliponaxis": False,  # token labels sit beside the axis, in the margins
            }
        )
    return {
        "data": traces,
        "layout": {
            "title": {"text": title, "x": 0.01, "font": {"size": 14}},
            "height": max(320, 22 * n + 90),
            "margin": {"l": 140, "r": 140, "t": 48, "b": 10},
            "xaxis": {"visible": False, "range": [-0.05, 1.05], "fixedrange": True},
            "yaxis": {"visible": False, "range": [-n + 0.5, 0.8], "fixedrange": True},
            "annotations": [
                {
                    "x": 0,
                    "y": 0.75,
                    "text": "queries",
                    "showarrow": False,
                    "font": {"color": QUERY},
                },
                {"x": 1, "y": 0.75, "text": "keys", "showarrow": False, "font": {"color": KEY}},
            ],
            "hovermode": "closest",
            "plot_bgcolor": "white",
        },
    }


def _lines(xs: list, ys: list, alpha: float, width: float) -> dict:
    return {
        "type": "scatter",
        "mode": "lines",
        "x": xs,
        "y": ys,
        "line": {"color": f"rgba({LINE}, {alpha:.3f})", "width": width},
        "hoverinfo": "skip",
        "showlegend": False,
    }


def link_count(figure: dict) -> int:
    """How many links a sentence figure draws (for tests and the caption)."""
    return sum(t["x"].count(None) for t in figure["data"] if t.get("mode") == "lines")
