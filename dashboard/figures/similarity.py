"""Head-similarity map and the norm-scale curve: arrays → figure dicts. No dash.

The similarity map is one SVG scatter (a few hundred points at most: no WebGL context spent):
one point per head of the model, placed by MDS of the heads' attention distances
(analytics/similarity.py), coloured by layer. Each point's customdata is its [layer, head], so a
click resolves by ids, never by coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LAYER_SCALE = "Viridis"
CURRENT = "#d62728"  # the open head / the current scale


def similarity_figure(
    coords: np.ndarray,
    heads: np.ndarray,
    n_layers: int,
    title: str = "",
    current: tuple[int, int] | None = None,
) -> dict:
    """coords [n, 2], heads [n, 2] (layer, head) per point, layer-major; `current` ringed."""
    layers = heads[:, 0].astype(int)
    names = [f"L{layer} H{head}" for layer, head in heads.tolist()]
    data = [
        {
            "type": "scatter",
            "mode": "markers+text" if len(heads) <= 80 else "markers",
            "x": coords[:, 0].tolist(),
            "y": coords[:, 1].tolist(),
            "text": names,
            "textposition": "top center",
            "textfont": {"size": 9, "color": "#555"},
            "customdata": heads.tolist(),
            "hovertemplate": "layer %{customdata[0]} · head %{customdata[1]}"
            "<br>click to open<extra></extra>",
            "marker": {
                "size": 11,
                "color": layers.tolist(),
                "colorscale": LAYER_SCALE,
                "cmin": 0,
                "cmax": max(n_layers - 1, 1),
                "line": {"width": 0.5, "color": "#333"},
                "colorbar": {
                    "title": {"text": "layer"},
                    "thickness": 12,
                    "dtick": 1 if n_layers <= 12 else 5,
                },
            },
            "showlegend": False,
        }
    ]
    if current is not None:
        at = np.flatnonzero((heads[:, 0] == current[0]) & (heads[:, 1] == current[1]))
        if len(at):
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [float(coords[at[0], 0])],
                    "y": [float(coords[at[0], 1])],
                    "marker": {
                        "size": 20,
                        "color": "rgba(0,0,0,0)",
                        "line": {"width": 2, "color": CURRENT},
                    },
                    "hoverinfo": "skip",
                    "showlegend": False,
                }
            )
    axis = {"visible": False, "zeroline": False}
    return {
        "data": data,
        "layout": {
            "title": {"text": title, "x": 0.01, "font": {"size": 14}},
            "height": 560,
            "margin": {"l": 10, "r": 10, "t": 48, "b": 10},
            "xaxis": axis,
            "yaxis": {**axis, "scaleanchor": "x"},
            "plot_bgcolor": "white",
            "hovermode": "closest",
            "clickmode": "event",
        },
    }


def head_of_point(point: dict | None, n_layers: int, n_heads: int) -> tuple[int, int] | None:
    """(layer, head) of a clicked similarity point, from its customdata; None otherwise."""
    try:
        layer, head = (int(v) for v in point["customdata"])
    except (TypeError, KeyError, ValueError):
        return None
    return (layer, head) if 0 <= layer < n_layers and 0 <= head < n_heads else None


def scale_curve_figure(
    ratios: Sequence[float],
    rho: Sequence[float],
    current: float,
    readable: tuple[float, float],
) -> dict:
    """rho_full against the norm scale (log x), the readable band shaded, the current scale marked."""
    ratios, rho = list(map(float, ratios)), [None if not np.isfinite(r) else float(r) for r in rho]
    at = ratios.index(current) if current in ratios else None
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": ratios,
            "y": rho,
            "line": {"color": "#1f77b4"},
            "hovertemplate": "keys at %{x:.3g}× query norm<br>ρ_full %{y:.3f}<extra></extra>",
            "showlegend": False,
        }
    ]
    if at is not None and rho[at] is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [ratios[at]],
                "y": [rho[at]],
                "marker": {"size": 12, "color": CURRENT},
                "hovertemplate": "now: ρ_full %{y:.3f}<extra></extra>",
                "showlegend": False,
            }
        )
    return {
        "data": data,
        "layout": {
            "height": 200,
            "margin": {"l": 44, "r": 8, "t": 8, "b": 40},
            "xaxis": {
                "type": "log",
                "title": {"text": "mean ‖k‖ / mean ‖q‖ (1 = equal norms)", "font": {"size": 11}},
                "tickvals": [0.2, 0.5, 1, 2, 5],
            },
            "yaxis": {"title": {"text": "ρ_full", "font": {"size": 11}}, "range": [-1.05, 1.05]},
            "shapes": [
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "paper",
                    "x0": readable[0],
                    "x1": readable[1],
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": "rgba(44,160,44,0.08)",
                    "line": {"width": 0},
                    "layer": "below",
                }
            ],
            "annotations": [
                {
                    "text": "readable",
                    "xref": "x",
                    "yref": "paper",
                    "x": float(np.log10(np.sqrt(readable[0] * readable[1]))),
                    "y": 0.02,
                    "showarrow": False,
                    "font": {"size": 10, "color": "#2c7a2c"},
                }
            ],
            "plot_bgcolor": "white",
        },
    }
