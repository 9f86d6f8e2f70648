"""Single-head view: one head's queries and keys, zoomable, with hover text per point."""

from __future__ import annotations

import numpy as np

from dashboard.figures.colors import Coloring
from dashboard.figures.encode import typed


def head_figure(coords: np.ndarray, color: Coloring, hover: list[str], title: str = "") -> dict:
    """coords [2·pos, 2|3] (queries then keys) → a 2D WebGL scatter or a rotatable 3D one."""
    n = len(coords)
    if len(hover) != n:
        raise ValueError(f"{len(hover)} hover texts for {n} points")
    three_d = coords.shape[1] == 3
    marker = {
        "size": 3 if three_d else 5,
        "color": typed(color.values),
        "colorscale": color.colorscale,
        "cmin": 0.0,
        "cmax": 1.0,
        "opacity": 0.8,
    }
    trace = {
        "type": "scatter3d" if three_d else "scattergl",
        "mode": "markers",
        "x": typed(coords[:, 0]),
        "y": typed(coords[:, 1]),
        "marker": marker,
        "text": hover,
        "hovertemplate": "%{text}<extra></extra>",
        "customdata": typed(np.arange(n), "int32"),  # point id: clicks resolve by id, not by float
        "showlegend": False,
    }
    layout: dict = {
        "title": {"text": title, "x": 0.01, "font": {"size": 14}},
        "height": 640,
        "margin": {"l": 10, "r": 10, "t": 48, "b": 10},
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "uirevision": title,
        "plot_bgcolor": "white",
    }
    axis = {"showticklabels": False, "showgrid": False, "zeroline": False, "title": ""}
    if three_d:
        trace["z"] = typed(coords[:, 2])
        layout["scene"] = {"xaxis": axis, "yaxis": axis, "zaxis": axis, "aspectmode": "data"}
    else:
        layout["xaxis"] = axis
        layout["yaxis"] = {**axis, "scaleanchor": "x", "scaleratio": 1}
        layout["dragmode"] = "zoom"
    return {"data": [trace], "layout": layout}
