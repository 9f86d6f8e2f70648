"""Matrix view: every head of every layer in one figure, one WebGL trace per layer.

Cell (layer, head) spans x ∈ [head − ½, head + ½], y ∈ [−layer − ½, −layer + ½] (layer 0 on
top). Each head's map is centred and scaled uniformly into its cell: aspect ratio kept, no
per-cell axis stretching. Every trace holds n_heads × points points in head order (missing
heads are NaN), so a click resolves to (layer = trace, head = point // points).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dashboard.figures.colors import Coloring
from dashboard.figures.encode import typed

CELL_FILL = 0.88  # share of a cell a map may use; the rest is gutter
MAX_PAIRS = (
    1_500  # query/key pairs drawn per cell: a ~100 px cell shows no more, the payload stays small
)


def sample_points(
    n_tokens: int, max_pairs: int = MAX_PAIRS, include: np.ndarray | None = None
) -> np.ndarray:
    """Indices into [2·n_tokens] points: evenly spaced tokens, each with its query and its key,
    plus every token in `include` (search hits are always drawn)."""
    tokens = np.linspace(0, n_tokens - 1, min(n_tokens, max_pairs)).round().astype(np.int64)
    if include is not None:
        tokens = np.concatenate([tokens, include])
    tokens = np.unique(tokens)
    return np.concatenate([tokens, tokens + n_tokens])


def fit_cell(coords: np.ndarray, keep: float = 0.995) -> np.ndarray:
    """[points, ≥2] → [points, 2] centred on 0, the central `keep` share of points spanning
    CELL_FILL on the larger side (same scale on both axes). A few far outliers, such as a
    decoder's first-token key, would otherwise squash the rest: they are pinned to the edge."""
    xy = np.asarray(coords[:, :2], dtype=np.float64)
    lo, hi = np.quantile(xy, [1 - keep, keep], axis=0)
    span = float((hi - lo).max()) or 1.0
    half = CELL_FILL / 2
    return np.clip((xy - (lo + hi) / 2) * (CELL_FILL / span), -half, half)


def _cells(layer: int, heads: list[np.ndarray | None], n_points: int) -> np.ndarray:
    """[heads · points, 2] cell coordinates of a layer, NaN where a head is not computed yet."""
    xy = np.full((len(heads) * n_points, 2), np.nan, dtype=np.float32)
    for head, coords in enumerate(heads):
        if coords is not None:
            xy[head * n_points : (head + 1) * n_points] = fit_cell(coords) + np.array(
                [head, -layer]
            )
    return xy


def layer_trace(
    layer: int,
    heads: list[np.ndarray | None],
    n_points: int,
    color: Coloring,
    marker_size: float = 2.0,
) -> dict:
    """One Scattergl trace with every head of `layer` placed in its cell."""
    # Interleave queries and keys within a head so neither colour is always drawn on top.
    order = np.arange(n_points).reshape(2, -1).T.ravel()
    xy = _cells(layer, [None if c is None else c[order] for c in heads], n_points)
    return {
        "type": "scattergl",
        "mode": "markers",
        "name": f"layer {layer}",
        "x": typed(xy[:, 0]),
        "y": typed(xy[:, 1]),
        "marker": {
            "size": marker_size,
            "color": typed(np.tile(color.values[order], len(heads))),
            "colorscale": color.colorscale,
            "cmin": 0.0,
            "cmax": 1.0,
            "opacity": 0.75,
        },
        "hoverinfo": "none",  # hover off in the matrix (payload and speed); clicks still fire
        "showlegend": False,
    }


def match_trace(
    layer: int, heads: list[np.ndarray | None], n_points: int, matched: np.ndarray
) -> dict:
    """Search hits of one layer, drawn over the maps: small translucent dots, a little larger
    than the map's, so a frequent token ("the") tints its region without burying the map."""
    xy = _cells(layer, heads, n_points)
    hits = xy[np.tile(matched, len(heads))]
    return {
        "type": "scattergl",
        "mode": "markers",
        "name": f"matches {layer}",
        "x": typed(hits[:, 0]),
        "y": typed(hits[:, 1]),
        # about the maps' 2 px points; translucent orange: the map shows through
        "marker": {"size": 2.5, "color": "rgba(255, 140, 0, 0.45)", "line": {"width": 0}},
        "hoverinfo": "none",
        "showlegend": False,
    }


def matrix_figure(
    n_layers: int,
    n_heads: int,
    coords: Mapping[tuple[int, int], np.ndarray],
    n_points: int,
    color: Coloring,
    title: str = "",
    matched: np.ndarray | None = None,
) -> dict:
    """Traces 0…L-1: the maps of each layer; with a search, traces L…2L-1: its hits per layer."""
    rows = [[coords.get((layer, head)) for head in range(n_heads)] for layer in range(n_layers)]
    traces = [layer_trace(layer, heads, n_points, color) for layer, heads in enumerate(rows)]
    if matched is not None:
        traces += [match_trace(layer, heads, n_points, matched) for layer, heads in enumerate(rows)]
    return {"data": traces, "layout": matrix_layout(n_layers, n_heads, title)}


def matrix_layout(n_layers: int, n_heads: int, title: str = "") -> dict:
    cell_px = max(48, min(110, 1100 // max(n_heads, 1)))
    grid_lines = [
        {
            "type": "rect",
            "x0": h - 0.5,
            "x1": h + 0.5,
            "y0": -layer - 0.5,
            "y1": -layer + 0.5,
            "line": {"color": "#e3e6ea", "width": 1},
            "layer": "below",
        }
        for layer in range(n_layers)
        for h in range(n_heads)
    ]
    return {
        "title": {"text": title, "x": 0.01, "font": {"size": 14}},
        "height": 90 + cell_px * n_layers,
        "margin": {"l": 56, "r": 12, "t": 64, "b": 12},
        "xaxis": {
            "side": "top",
            "tickvals": list(range(n_heads)),
            "ticktext": [f"H{h}" for h in range(n_heads)],
            "range": [-0.5, n_heads - 0.5],
            "showgrid": False,
            "zeroline": False,
            "fixedrange": False,
        },
        "yaxis": {
            "tickvals": [-layer for layer in range(n_layers)],
            "ticktext": [f"L{layer}" for layer in range(n_layers)],
            "range": [-n_layers + 0.5, 0.5],
            "showgrid": False,
            "zeroline": False,
            "scaleanchor": "x",
            "scaleratio": 1,
        },
        "shapes": grid_lines,
        "plot_bgcolor": "white",
        "dragmode": "zoom",
        "uirevision": "matrix",
        "hovermode": "closest",
    }


def head_of_click(
    point: Mapping, n_layers: int, n_heads: int, n_points: int
) -> tuple[int, int] | None:
    """(layer, head) under a click: from the trace and point index on a map, from the cell grid
    on a search hit (cells are unit squares centred on integer positions); None off the grid."""
    try:
        curve = int(point["curveNumber"])
        if curve < n_layers:
            layer, head = curve, int(point["pointNumber"]) // n_points
        else:
            layer, head = -round(float(point["y"])), round(float(point["x"]))
    except (KeyError, TypeError, ValueError):
        return None
    return (layer, head) if 0 <= layer < n_layers and 0 <= head < n_heads else None
