"""How head metrics and map fidelity read: short names, numbers, badge colours, hover lines,
and the matrix's sort order. Pure: dicts of floats in, strings and arrays out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dashboard.analytics.metrics import ALL, EXPLAIN, HEAD_METRICS, levels

SEARCH_SPREAD = "search_spread"
EXPLAIN_SPREAD = (
    "hits' distance to the nearest other hit over that of random tokens (< 1: a cluster)"
)
LABELS = {
    "entropy": "entropy",
    "first_token_mass": "first-token mass",
    "prev_token_mass": "previous-token mass",
    "self_mass": "self mass",
    "positional_r2": "positional R²",
    "qk_norm_ratio": "‖q‖ / ‖k‖",
    "qk_offset": "q–k offset",
    "sparsity": "sparsity",
    "rho_full": "ρ full",
    "rho_map": "ρ map",
    "trustworthiness": "trustworthiness",
    "topk_recall": "top-2 recall",
    SEARCH_SPREAD: "search spread",
}
LEVEL_COLORS = {"good": "#2f855a", "fair": "#b7791f", "poor": "#c53030", "unknown": "#718096"}
LEVEL_WORDS = {
    "good": "nearness on this map follows attention (over halfway from a random projection to "
    "the ceiling)",
    "fair": "nearness on this map follows attention only a little better than a random projection",
    "poor": "nearness on this map follows attention no better than a random projection",
    "unknown": "too few keys per query to tell",
}
COLOR_BY = [*ALL, SEARCH_SPREAD]  # the matrix's "colour by metric" choices


def metric_options() -> list[dict]:
    return [{"label": LABELS[name], "value": name, "title": explain(name)} for name in COLOR_BY]


def explain(name: str) -> str:
    return EXPLAIN_SPREAD if name == SEARCH_SPREAD else EXPLAIN[name]


def fmt(value: float | None) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.2f}"


def fidelity_line(m: dict) -> str:
    """'ρ map 0.77 of 0.83 (random 0.17) · trust 0.91 · top-2 0.59'."""
    return (
        f"ρ map {fmt(m.get('rho_map'))} of {fmt(m.get('rho_full'))} "
        f"(random {fmt(m.get('rho_random'))}) · trust {fmt(m.get('trustworthiness'))} · "
        f"top-2 {fmt(m.get('topk_recall'))}"
    )


def hover_lines(m: dict | None, spread: float | None = None) -> str:
    """The metrics' lines of a matrix cell's hover (Plotly's <br> breaks)."""
    lines = []
    if m is None:
        lines.append("metrics: measured after the maps")
    else:
        level = levels(m)["map"]
        color = LEVEL_COLORS[level]
        lines.append(f"<span style='color:{color}'>● {level} map</span> · {fidelity_line(m)}")
        head = [f"{LABELS[n]} {fmt(m.get(n))}" for n in HEAD_METRICS]
        lines += [" · ".join(head[:4]), " · ".join(head[4:])]
    if spread is not None:
        lines.append(f"search spread {fmt(spread)}")
    return "<br>".join(lines)


def slot_order(values: Sequence[float | None], n_layers: int, n_heads: int) -> list[list[int]]:
    """Per layer, its heads from the highest value to the lowest (missing last, ties by head):
    order[layer][slot] = head."""
    v = np.array([np.nan if x is None else float(x) for x in values]).reshape(n_layers, n_heads)
    key = np.where(np.isnan(v), np.inf, -v)
    return [np.argsort(row, kind="stable").tolist() for row in key]
