"""Matrix view: every head of every layer in one figure, one WebGL trace per layer.

Figure units: cell (layer, head) spans x ∈ [head·UNIT, (head + 1)·UNIT] and
y ∈ [layer·UNIT, (layer + 1)·UNIT] on a reversed y axis (layer 0 on top). Each head's map is
centred and scaled uniformly into its cell: aspect ratio kept, no per-cell axis stretching.
Every trace holds n_heads × points points in head order; a head not computed yet has its points
at MISSING, far outside the grid.

Bytes: the maps are most of what the browser downloads, so their coordinates are whole
figure units sent as uint16 typed arrays (UNIT levels per cell side: finer than a pixel of a
cell, even zoomed to a single cell at full width) and their colours are uint8 codes on a
0–255 colour scale: 5 bytes a point before base64, instead of 12 as float32.

Hover stays off on the maps' points (there are hundreds of thousands): one transparent heatmap
with a cell per head answers hover and clicks instead, and tints the cells that still show a
PCA stand-in for the requested method. Traces: 0…L-1 the maps of each layer, then (with a
search) L…2L-1 its hits per layer, then the cell heatmap, then the "PCA" badges (then, when
the heads of each layer are sorted by a metric, each cell's head label).

CellInfo adds what is known about each head besides its map: metric lines in the hover, a
cell background coloured by a metric (the heatmap, drawn under the WebGL points, with a colour
bar), heads sorted within each layer (cell slot ≠ head then: `order[layer][slot]` says which
head a cell holds), and faint points for heads whose map is unfaithful.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dashboard.figures.colors import Coloring
from dashboard.figures.encode import code_colors, color_codes, typed

UNIT = 500  # figure units per cell side
MISSING = 65_535  # uint16 coordinate of the points of a head not computed yet: off the grid
MAX_CELLS = MISSING // UNIT - 1  # cells a side that uint16 coordinates can address
CELL_FILL = 0.88  # share of a cell a map may use; the rest is gutter
MAX_PAIRS = (
    1_500  # query/key pairs drawn per cell: a ~100 px cell shows no more, the payload stays small
)
MARGIN = {"l": 40, "r": 8, "t": 74, "b": 6}  # px around the grid: title, status line, head labels
STAND_IN = "#b7791f"  # amber: a cell that still shows its PCA stand-in
STAND_IN_FILL = "rgba(236, 178, 46, 0.16)"
# heatmap colours of the cell levels 0 (nothing yet), 1 (PCA stand-in), 2 (the requested map)
LEVEL_COLORSCALE = [
    [0.0, "rgba(0, 0, 0, 0)"],
    [0.25, "rgba(0, 0, 0, 0)"],
    [0.25, STAND_IN_FILL],
    [0.75, STAND_IN_FILL],
    [0.75, "rgba(0, 0, 0, 0)"],
    [1.0, "rgba(0, 0, 0, 0)"],
]


def placeholder(text: str) -> dict:
    """A figure with no axes that says what is coming (dcc.Graph would draw empty axes)."""
    return {
        "data": [],
        "layout": {
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "plot_bgcolor": "white",
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "annotations": [
                {
                    "text": text,
                    "showarrow": False,
                    "font": {"size": 15, "color": "#5b6472"},
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                }
            ],
        },
    }


LOADING = placeholder("Loading the matrix…")
METRIC_OPACITY = 0.55  # cell backgrounds: the map's points stay readable over them
METRIC_COLORSCALE = "Viridis"
FAINT = 0.12  # the opacity of a dimmed (unfaithful) head's points; others 0.75
OPACITY = 0.75


@dataclass(frozen=True)
class CellInfo:
    """Per head (layer-major lists of n_layers·n_heads), all optional."""

    hover: list[str] | None = None  # extra lines of each cell's hover
    values: list[float | None] | None = None  # colour each cell's background by these
    label: str = ""  # the colour bar's title
    order: list[list[int]] | None = None  # per layer, the head in each slot (sorted heads)
    dim: list[bool] | None = None  # draw these heads' points faint

    def head_at(self, layer: int, slot: int) -> int:
        return self.order[layer][slot] if self.order else slot


NO_INFO = CellInfo()


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


def cell_center(layer: int, head: int) -> tuple[float, float]:
    """(x, y) of a cell's centre in figure units."""
    return (head + 0.5) * UNIT, (layer + 0.5) * UNIT


def cell_of(x: float, y: float) -> tuple[int, int]:
    """(layer, head) of the cell holding a point in figure units."""
    return int(np.floor(y / UNIT)), int(np.floor(x / UNIT))


def _cells(layer: int, heads: list[np.ndarray | None], n_points: int) -> np.ndarray:
    """[heads · points, 2] uint16 figure coordinates of a layer, MISSING where a head is not
    computed yet. The map's y grows upwards, the axis downwards: y is flipped."""
    xy = np.full((len(heads) * n_points, 2), MISSING, dtype=np.uint16)
    for head, coords in enumerate(heads):
        if coords is not None:
            local = fit_cell(coords) * np.array([UNIT, -UNIT])
            placed = np.rint(local + np.array(cell_center(layer, head)))
            xy[head * n_points : (head + 1) * n_points] = placed.astype(np.uint16)
    return xy


def layer_trace(
    layer: int,
    heads: list[np.ndarray | None],
    n_points: int,
    color: Coloring,
    marker_size: float = 2.0,
    faint: list[bool] | None = None,
) -> dict:
    """One Scattergl trace with every head of `layer` placed in its cell (`faint`: per cell,
    whether its points are drawn faint)."""
    # Interleave queries and keys within a head so neither colour is always drawn on top.
    order = np.arange(n_points).reshape(2, -1).T.ravel()
    xy = _cells(layer, [None if c is None else c[order] for c in heads], n_points)
    codes = color_codes(color.values[order])  # the single-head view's 256 levels
    return {
        "type": "scattergl",
        "mode": "markers",
        "name": f"layer {layer}",
        "x": typed(xy[:, 0], "uint16"),
        "y": typed(xy[:, 1], "uint16"),
        "marker": {
            "size": marker_size,
            # each point's RGB, not codes on a colour scale: Plotly would turn every code into
            # a CSS colour and parse it back, a third of drawing the matrix (bench/browser.py)
            "color": typed(code_colors(color.colorscale)[np.tile(codes, len(heads))], "uint8"),
            "opacity": OPACITY
            if not faint or not any(faint)
            else typed(np.repeat(np.where(faint, FAINT, OPACITY), n_points).astype(np.float32)),
        },
        "hoverinfo": "skip",  # hover and clicks go to the cell heatmap (cell_trace)
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
        "x": typed(hits[:, 0], "uint16"),
        "y": typed(hits[:, 1], "uint16"),
        # about the maps' 2 px points; translucent orange: the map shows through
        "marker": {"size": 2.5, "color": "rgba(255, 140, 0, 0.45)", "line": {"width": 0}},
        "hoverinfo": "none",
        "showlegend": False,
    }


def cell_state(level: int, method: str) -> str:
    return (
        f"{method} map"
        if level == 2
        else f"PCA stand-in ({method} not computed yet)"
        if level == 1
        else "not computed yet"
    )


def cell_trace(
    n_layers: int, n_heads: int, levels: list[int], method: str, info: CellInfo = NO_INFO
) -> dict:
    """One heatmap cell per head: the matrix's hover and click target (cheap: one cell per head,
    not one per point), tinted where a PCA stand-in still shows — or, colouring by a metric,
    each cell's background by its head's value, with a colour bar. levels: by head."""
    cells = [
        [(layer, info.head_at(layer, slot)) for slot in range(n_heads)] for layer in range(n_layers)
    ]
    text = [
        [
            f"Layer {layer} · head {head}<br>{cell_state(levels[layer * n_heads + head], method)}"
            + (f"<br>{info.hover[layer * n_heads + head]}" if info.hover else "")
            for layer, head in row
        ]
        for row in cells
    ]
    trace = {
        "type": "heatmap",
        "name": "cells",
        "x": [cell_center(0, head)[0] for head in range(n_heads)],
        "y": [cell_center(layer, 0)[1] for layer in range(n_layers)],
        "text": text,
        "hovertemplate": "%{text}<extra></extra>",
        "hoverlabel": {"bgcolor": "white", "font": {"size": 12}},
    }
    if info.values is None:
        return {
            **trace,
            "z": [[levels[layer * n_heads + head] for layer, head in row] for row in cells],
            "zmin": 0,
            "zmax": 2,
            "colorscale": LEVEL_COLORSCALE,
            "showscale": False,
        }
    values = [info.values[layer * n_heads + head] for row in cells for layer, head in row]
    z = np.array([np.nan if v is None else float(v) for v in values]).reshape(n_layers, n_heads)
    finite = z[np.isfinite(z)]
    return {
        **trace,
        "z": [[None if not np.isfinite(v) else round(float(v), 4) for v in row] for row in z],
        "zmin": float(finite.min()) if finite.size else 0.0,
        "zmax": float(finite.max()) if finite.size and finite.max() > finite.min() else 1.0,
        "colorscale": METRIC_COLORSCALE,
        "opacity": METRIC_OPACITY,
        "showscale": True,
        "colorbar": {
            "title": {"text": info.label, "side": "right"},
            "thickness": 12,
            "len": 0.9,
            "x": 1.0,
            "xpad": 4,
        },
    }


def head_labels(n_layers: int, n_heads: int, order: list[list[int]]) -> dict:
    """Sorted heads: each cell says which head it holds (the x axis then counts ranks)."""
    return {
        "type": "scatter",
        "mode": "text",
        "name": "heads",
        "x": [(slot + 0.97) * UNIT for _ in range(n_layers) for slot in range(n_heads)],
        "y": [(layer + 0.03) * UNIT for layer in range(n_layers) for _ in range(n_heads)],
        "text": [f"H{head}" for row in order for head in row],
        "textposition": "bottom left",
        "textfont": {"size": 9, "color": "#4a5568"},
        "hoverinfo": "skip",
        "showlegend": False,
    }


def badge_trace(n_layers: int, n_heads: int, levels: list[int]) -> dict:
    """A small "PCA" in the top-left corner of every cell still showing its stand-in."""
    cells = [i for i, level in enumerate(levels) if level == 1]
    return {
        "type": "scatter",
        "mode": "text",
        "name": "stand-ins",
        "x": [(i % n_heads + 0.03) * UNIT for i in cells],
        "y": [(i // n_heads + 0.03) * UNIT for i in cells],
        "text": ["PCA"] * len(cells),
        "textposition": "bottom right",
        "textfont": {"size": 9, "color": STAND_IN},
        "hoverinfo": "skip",
        "showlegend": False,
    }


def cell_frame(layer: int, head: int, level: int) -> dict:
    """A cell's outline: thin grey, or dashed amber around a PCA stand-in."""
    stand_in = level == 1
    return {
        "type": "rect",
        "x0": head * UNIT,
        "x1": (head + 1) * UNIT,
        "y0": layer * UNIT,
        "y1": (layer + 1) * UNIT,
        "line": {
            "color": STAND_IN if stand_in else "#e3e6ea",
            "width": 1.5 if stand_in else 1,
            "dash": "dot" if stand_in else "solid",
        },
        "layer": "below",
    }


def status_line(levels: list[int], method: str) -> str:
    """The title's second line: how many cells are not the requested method's map yet."""
    stand_ins, missing = levels.count(1), levels.count(0)
    parts = []
    if stand_ins:
        parts.append(
            f"<span style='color:{STAND_IN}'>⬚ {stand_ins} of {len(levels)} cells still show "
            f"PCA</span> (dotted, marked “PCA”) until their {method} map is computed"
        )
    if missing:
        parts.append(f"{missing} not computed yet")
    return "; ".join(parts)


def matrix_title(title: str, levels: list[int], method: str) -> str:
    line = status_line(levels, method)
    return f"{title}<br><span style='font-size:12px'>{line}</span>" if line else title


def matrix_figure(
    n_layers: int,
    n_heads: int,
    coords: Mapping[tuple[int, int], np.ndarray],
    n_points: int,
    color: Coloring,
    title: str = "",
    matched: np.ndarray | None = None,
    levels: list[int] | None = None,
    method: str = "",
    info: CellInfo = NO_INFO,
) -> dict:
    """See the module's docstring for the trace order. levels: per head, layer-major, 2 for the
    requested map, 1 for its PCA stand-in, 0 for none (default: 2 wherever coords has a map)."""
    if max(n_layers, n_heads) > MAX_CELLS:
        raise ValueError(f"the matrix draws at most {MAX_CELLS} layers and {MAX_CELLS} heads")
    if levels is None:
        levels = [
            2 if (layer, head) in coords else 0
            for layer in range(n_layers)
            for head in range(n_heads)
        ]
    slots = [[info.head_at(layer, s) for s in range(n_heads)] for layer in range(n_layers)]
    rows = [[coords.get((layer, head)) for head in row] for layer, row in enumerate(slots)]
    by_slot = [levels[layer * n_heads + head] for layer, row in enumerate(slots) for head in row]
    traces = [
        layer_trace(
            layer,
            heads,
            n_points,
            color,
            faint=None
            if info.dim is None
            else [info.dim[layer * n_heads + h] for h in slots[layer]],
        )
        for layer, heads in enumerate(rows)
    ]
    if matched is not None:
        traces += [
            quiet(match_trace(layer, heads, n_points, matched)) for layer, heads in enumerate(rows)
        ]
    traces += [
        cell_trace(n_layers, n_heads, levels, method, info),
        badge_trace(n_layers, n_heads, by_slot),
    ]
    if info.order:
        traces.append(head_labels(n_layers, n_heads, info.order))
    layout = matrix_layout(n_layers, n_heads, matrix_title(title, levels, method), by_slot)
    if info.order:  # the x axis counts ranks: which head sits where is in each cell
        layout["xaxis"]["ticktext"] = [f"#{slot + 1}" for slot in range(n_heads)]
    if info.values is not None:
        layout["margin"] = {**MARGIN, "r": 70}  # room for the colour bar
    return {"data": traces, "layout": layout}


def quiet(trace: dict) -> dict:
    """A trace over the maps that leaves hover and clicks to the cell heatmap."""
    return {**trace, "hoverinfo": "skip"}


def matrix_layout(
    n_layers: int, n_heads: int, title: str = "", levels: list[int] | None = None
) -> dict:
    """No fixed height: the graph's box sets it (see views/matrix.graph_style); both axes
    constrain their domain so the cells stay square and the grid is not padded sideways."""
    levels = levels or [2] * (n_layers * n_heads)
    return {
        "title": {
            "text": title,
            "x": 0.01,
            "xanchor": "left",
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 18},  # Plotly anchors a two-line title by its first line's middle
            "font": {"size": 14},
        },
        "autosize": True,
        "margin": MARGIN,
        "xaxis": {
            "side": "top",
            "tickvals": [cell_center(0, head)[0] for head in range(n_heads)],
            "ticktext": [f"H{h}" for h in range(n_heads)],
            "range": [0, n_heads * UNIT],
            "showgrid": False,
            "zeroline": False,
            "fixedrange": False,
            "constrain": "domain",
            "constraintoward": "left",
            "ticks": "",
            "tickangle": 0,
            "tickfont": {"size": 11},
        },
        "yaxis": {
            "tickvals": [cell_center(layer, 0)[1] for layer in range(n_layers)],
            "ticktext": [f"L{layer}" for layer in range(n_layers)],
            "range": [n_layers * UNIT, 0],  # reversed: layer 0 on top
            "showgrid": False,
            "zeroline": False,
            "scaleanchor": "x",
            "scaleratio": 1,
            "constrain": "domain",
            "constraintoward": "top",
            "ticks": "",
            "tickfont": {"size": 11},
        },
        "shapes": [
            cell_frame(layer, head, levels[layer * n_heads + head])
            for layer in range(n_layers)
            for head in range(n_heads)
        ],
        "plot_bgcolor": "white",
        "dragmode": "zoom",
        "uirevision": "matrix",
        "hovermode": "closest",
    }


def head_of_click(
    point: Mapping, n_layers: int, n_heads: int, n_points: int
) -> tuple[int, int] | None:
    """(layer, head) under a click: from the trace and point index on a map, from the cell grid
    on the cell heatmap or a search hit; None off the grid."""
    try:
        curve = int(point["curveNumber"])
        if curve < n_layers:
            layer, head = curve, int(point["pointNumber"]) // n_points
        else:
            layer, head = cell_of(float(point["x"]), float(point["y"]))
    except (KeyError, TypeError, ValueError):
        return None
    return (layer, head) if 0 <= layer < n_layers and 0 <= head < n_heads else None


CELL_PX = 100  # the cell size the graph's box is proportioned for (the viewport may shrink it)
WINDOW_GAP = 12  # px the box leaves below it in the window (matrix_graph_style's max-height)
# A cell of c CSS px shows about POINTS_PER_PX2·c² points (2 px markers) as distinct marks; more
# only overplot, and every point costs the browser's WebGL time and the wire's bytes. Pairs come
# in steps of PAIRS_STEP, so browsers of similar windows share one drawn figure.
POINTS_PER_PX2 = 0.3
PAIRS_STEP = 100
# ...but a small cell still needs this many to show its shape (a decoder's 30 px cells with 200
# points read as scattered dots where 3,000 had shown rings and bands)
MIN_PAIRS = 600


def cell_px(viewport: Sequence[float] | None, n_layers: int, n_heads: int) -> float | None:
    """A cell's side in CSS px for a graph box `viewport` = [width, window height] wide, laid
    out as matrix_graph_style lays it out (square cells, the whole grid in the window); None
    when the browser did not say."""
    if not viewport or len(viewport) != 2 or min(viewport) <= 0:
        return None
    width, window_height = float(viewport[0]), float(viewport[1])
    tall = n_layers * CELL_PX + MARGIN["t"] + MARGIN["b"]
    wide = n_heads * CELL_PX + MARGIN["l"] + MARGIN["r"]
    height = min(width * tall / wide, window_height - WINDOW_GAP)
    return max(
        1.0,
        min(
            (width - MARGIN["l"] - MARGIN["r"]) / n_heads,
            (height - MARGIN["t"] - MARGIN["b"]) / n_layers,
        ),
    )


def pairs_for_cell(px: float | None) -> int:
    """Query/key pairs a cell of `px` CSS px draws (MIN_PAIRS to MAX_PAIRS; MAX_PAIRS when not
    known)."""
    if px is None:
        return MAX_PAIRS
    pairs = POINTS_PER_PX2 * px * px / 2
    return int(min(MAX_PAIRS, max(MIN_PAIRS, round(pairs / PAIRS_STEP) * PAIRS_STEP)))


def matrix_graph_style(request: dict | None) -> dict:
    """The graph's box: proportioned like the model's grid (so the cells fill its width), and
    never taller than the window, so the whole matrix, head labels included, is in view at once;
    Plotly keeps the cells square inside it (both axes constrain their domain)."""
    n_layers = int((request or {}).get("n_layers") or 6)
    n_heads = int((request or {}).get("n_heads") or 12)
    width = n_heads * CELL_PX + MARGIN["l"] + MARGIN["r"]
    height = n_layers * CELL_PX + MARGIN["t"] + MARGIN["b"]
    # a definite width: max-height then clips the height, it does not narrow the box
    return {
        "width": "100%",
        "aspectRatio": f"{width} / {height}",
        "maxHeight": f"calc(100vh - {WINDOW_GAP}px)",
    }
