"""Single-head view: one head's queries and keys, zoomable, with hover text per point.

Trace 0 holds every point (its hover text built in the browser from the corpus's hover table
and each point's id in customdata, or sent per point); traces 1..MAX_LINES are line slots that a Patch fills with the
strongest attention links of the hovered or pinned token (line opacity and width grow with the
attention weight, from a floor that keeps weak links visible); then the search hits (HITS) and a
ring on the pinned point (PINNED); then, when a sentence was dropped into the map, its placed
queries and keys (PLACED).
"""

from __future__ import annotations

import html

import numpy as np

from dashboard.figures.colors import Coloring
from dashboard.figures.encode import CODES, code_colors, color_codes, typed

MAX_LINES = 5
HITS = 1 + MAX_LINES  # trace index of the search hits
PINNED = HITS + 1  # trace index of the ring on the pinned point
PLACED = PINNED + 1  # trace index of a dropped sentence's points, when there is one
PLACED_COLOURS = ("#0b5d46", "#9c1460")  # queries, keys: darker than the map's green and pink
LINE_COLOUR = "20, 33, 61"  # rgb of the link lines; alpha carries the weight


def scatter_type(three_d: bool, webgl: bool = True) -> str:
    """WebGL where the browser has it; SVG ("scatter") without: slower, but drawn."""
    return "scatter3d" if three_d else "scattergl" if webgl else "scatter"


def point_colors(color: Coloring, order: np.ndarray, kind: str) -> dict:
    """The marker's colours, points in `order`. WebGL 2D takes each point's RGB: given codes on
    a colour scale, Plotly turns every code into a CSS colour and parses it back (a quarter of
    drawing a head, bench/browser.py). SVG and 3D traces read no RGB rows: codes and the scale."""
    codes = color_codes(color.values[order])
    if kind == "scattergl":
        return {"color": typed(code_colors(color.colorscale)[codes], "uint8")}
    return {
        "color": typed(codes, "uint8"),
        "colorscale": color.colorscale,
        "cmin": 0,
        "cmax": CODES,
    }


def draw_order(n_points: int) -> np.ndarray:
    """Queries and keys interleaved, so neither colour is always drawn on top."""
    return np.arange(n_points).reshape(2, -1).T.ravel()


def head_figure(
    coords: np.ndarray,
    color: Coloring,
    hover: list[str],
    title: str = "",
    matched: np.ndarray | None = None,
    special: np.ndarray | None = None,
    norms: np.ndarray | None = None,
    webgl: bool = True,
    point_text: bool = True,
) -> dict:
    """coords [2·pos, 2|3] (queries then keys) → a 2D WebGL scatter or a rotatable 3D one.
    Traces: 0 the points, 1…MAX_LINES link slots, HITS the search hits (`matched` [2·pos]
    bool), PINNED the pinned point's ring (empty until a Patch sets it).
    `special` [2·pos] marks [CLS]/BOS/… as diamonds; `norms` [2·pos] sizes dots by vector norm.
    Without `webgl` every trace is SVG, and a 3D map shows its x–y plane.
    Without `point_text` trace 0 carries each point's id (its index in `coords`) as customdata
    instead of its text: the browser adds the text (assets/hover.js) from the hover table it
    received once for the corpus; the search hits keep their text (there are few)."""
    if not webgl:
        coords = coords[:, :2]
    n = len(coords)
    if len(hover) != n:
        raise ValueError(f"{len(hover)} hover texts for {n} points")
    three_d = coords.shape[1] == 3
    order = draw_order(n)
    base = 3 if three_d else 5
    kind = scatter_type(three_d, webgl)
    marker = {
        "size": base
        if norms is None
        else typed(base * (0.4 + 1.6 * norms[order] / max(norms.max(), 1e-9))),
        **point_colors(color, order, kind),
        "opacity": 0.8,
    }
    if special is not None and special.any() and not three_d:
        marker["symbol"] = np.where(special[order], 2, 0).tolist()  # 2 = diamond, 0 = circle
    trace = {
        "type": kind,
        "mode": "markers",
        "x": typed(coords[order, 0]),
        "y": typed(coords[order, 1]),
        "marker": marker,
        "hovertemplate": "%{text}<extra></extra>",
        "showlegend": False,
    }
    if point_text:
        trace["text"] = [hover[i] for i in order]
    else:
        trace["customdata"] = typed(order, "uint16" if n <= 65_536 else "uint32")
    layout: dict = {
        "title": {"text": title, "x": 0.01, "font": {"size": 14}},
        # no height: the graph's CSS box gives it (assets/views-head.css), Plotly autosizes
        "margin": {"l": 10, "r": 10, "t": 48, "b": 10},
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "uirevision": title,
        "plot_bgcolor": "white",
    }
    axis = {"showticklabels": False, "showgrid": False, "zeroline": False, "title": {"text": ""}}
    if three_d:
        trace["z"] = typed(coords[order, 2])
        # no spikes: on hover they drew long black lines from the point to the axis walls
        axis3 = {**axis, "showspikes": False}
        layout["scene"] = {"xaxis": axis3, "yaxis": axis3, "zaxis": axis3, "aspectmode": "data"}
    else:
        layout["xaxis"] = axis
        layout["yaxis"] = {**axis, "scaleanchor": "x", "scaleratio": 1}
        layout["dragmode"] = "zoom"
    return {
        "data": [
            trace,
            *line_traces(coords, [], webgl),
            hits_trace(coords, matched, hover, webgl),
            pinned_trace(coords, None, webgl),
        ],
        "layout": layout,
    }


def hits_trace(
    coords: np.ndarray, matched: np.ndarray | None, hover: list[str], webgl: bool = True
) -> dict:
    """Search hits drawn over the map, with the same hover text as their points."""
    index = np.flatnonzero(matched) if matched is not None else np.array([], dtype=int)
    trace = {
        "type": scatter_type(coords.shape[1] == 3, webgl),
        "mode": "markers",
        "x": typed(coords[index, 0]),
        "y": typed(coords[index, 1]),
        "marker": {
            "size": 9,
            "color": "rgba(255, 196, 0, 0.95)",
            "line": {"color": "#111", "width": 1},
        },
        "text": [hover[i] for i in index],
        "hovertemplate": "%{text}<extra>match</extra>",
        "showlegend": False,
    }
    if coords.shape[1] == 3:
        trace["z"] = typed(coords[index, 2])
    return trace


def placed_trace(coords: np.ndarray, tokens: list[str], webgl: bool = True) -> dict:
    """A dropped sentence's queries then keys (coords [2·pos, dims]), placed into the fitted map
    (not part of its fit): large outlined stars, the hover says so."""
    coords = np.asarray(coords, dtype=np.float32)
    coords = coords if webgl else coords[:, :2]
    three_d = coords.shape[1] == 3
    n = len(tokens)
    text = [
        f"placed, not fitted · {role} · <b>{html.escape(token)}</b> · position {i} of the dropped "
        "sentence"
        for role in ("query", "key")
        for i, token in enumerate(tokens)
    ]
    trace = {
        "type": scatter_type(three_d, webgl),
        "mode": "markers",
        "x": typed(coords[:, 0]),
        "y": typed(coords[:, 1]),
        "marker": {
            "size": 8 if three_d else 13,
            "symbol": "diamond" if three_d else "star",
            "color": [PLACED_COLOURS[0]] * n + [PLACED_COLOURS[1]] * n,
            "line": {"color": "#ffd400", "width": 1.5},
            "opacity": 1.0,
        },
        "text": text,
        "hovertemplate": "%{text}<extra>placed</extra>",
        "showlegend": False,
    }
    if three_d:
        trace["z"] = typed(coords[:, 2])
    return trace


GENERATED_COLOUR = "#d95f02"  # greedy continuations: orange, apart from green queries/pink keys


def generated_trace(
    coords: np.ndarray, generated: np.ndarray, hover: list[str], webgl: bool = True
) -> dict:
    """The generated tokens' points (`generated` [2·pos] bool) again, over the map in their own
    colour (queries filled, keys open)."""
    coords = coords if webgl else coords[:, :2]
    three_d = coords.shape[1] == 3
    index = np.flatnonzero(generated)
    n = len(coords) // 2
    trace = {
        "type": scatter_type(three_d, webgl),
        "mode": "markers",
        "x": typed(coords[index, 0]),
        "y": typed(coords[index, 1]),
        "marker": {
            "size": 4 if three_d else 7,
            "symbol": ["circle" if i < n else "circle-open" for i in index],
            "color": GENERATED_COLOUR,
        },
        "text": [f"generated · {hover[i]}" for i in index],
        "hovertemplate": "%{text}<extra>generated</extra>",
        "showlegend": False,
    }
    if three_d:
        trace["z"] = typed(coords[index, 2])
        del trace["marker"]["symbol"]  # scatter3d has no open circles
    return trace


def pinned_trace(coords: np.ndarray, point: int | None, webgl: bool = True) -> dict:
    """A dark ring around the pinned (clicked) point; no point: empty."""
    coords = coords if webgl else coords[:, :2]
    three_d = coords.shape[1] == 3
    index = [] if point is None else [point]
    trace = {
        "type": scatter_type(three_d, webgl),
        "mode": "markers",
        "x": [float(coords[i, 0]) for i in index],
        "y": [float(coords[i, 1]) for i in index],
        "marker": {
            "size": 10 if three_d else 15,
            "symbol": "circle-open",
            "color": f"rgb({LINE_COLOUR})",
            "line": {"color": f"rgb({LINE_COLOUR})", "width": 2.5},
        },
        "hoverinfo": "skip",
        "showlegend": False,
    }
    if three_d:
        trace["z"] = [float(coords[i, 2]) for i in index]
    return trace


def line_traces(
    coords: np.ndarray, links: list[tuple[int, int, float]], webgl: bool = True
) -> list[dict]:
    """MAX_LINES traces: link i joins point a to point b, its opacity (0.45…1) and width (1.5…5 px)
    growing with the weight, so a link of weight 0.1 stays visible; the rest empty."""
    if not webgl:
        coords = coords[:, :2]
    three_d = coords.shape[1] == 3
    traces = []
    for slot in range(MAX_LINES):
        a, b, weight = links[slot] if slot < len(links) else (0, 0, 0.0)
        ends = [a, b] if slot < len(links) else []
        trace = {
            "type": scatter_type(three_d, webgl),
            "mode": "lines",
            "x": [float(coords[i, 0]) for i in ends],
            "y": [float(coords[i, 1]) for i in ends],
            "line": {
                "color": f"rgba({LINE_COLOUR}, {0.45 + 0.55 * weight:.3f})",
                "width": 1.5 + 3.5 * weight,
            },
            "hoverinfo": "skip",
            "showlegend": False,
        }
        if three_d:
            trace["z"] = [float(coords[i, 2]) for i in ends]
        traces.append(trace)
    return traces
