"""Colour schemes for query/key points. Points are ordered queries first, then keys.

Every scheme maps to one number per point in [0, 1] plus a colorscale, so a whole map stays
one WebGL trace with a typed colour array. Green is queries, pink is keys (as in AttentionViz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.models.qk import TokenTable

QUERY, KEY = "#1b9e77", "#e7298a"
POSITION_BUCKETS = (
    0,
    1,
    2,
    3,
    4,
    5,
    10,
    20,
    40,
)  # lower edges: early positions get their own colour
BUCKET_LABELS = ("0", "1", "2", "3", "4", "5–9", "10–19", "20–39", "40+")
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#9c755f",
    "#bab0ac",
)


@dataclass(frozen=True)
class Scheme:
    id: str
    label: str
    explanation: str


SCHEMES: dict[str, Scheme] = {
    s.id: s
    for s in (
        Scheme("role", "Query vs key", "Queries green, keys pink."),
        Scheme(
            "position",
            "Normalised position",
            "Position in the sentence divided by its length: light = start, dark = end "
            "(queries green, keys pink).",
        ),
        Scheme(
            "discrete",
            "Discrete position",
            "One hue per position bucket (0, 1, 2, 3, 4, 5–9, 10–19, 20–39, 40+); queries darker than keys.",
        ),
    )
}


@dataclass(frozen=True)
class Coloring:
    values: np.ndarray  # [2·pos] float32 in [0, 1]
    colorscale: list[list]
    legend: list[tuple[str, str]]  # (css colour, label)


def _mix(hex_colour: str, other: tuple[int, int, int], amount: float) -> str:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    mixed = rgb * (1 - amount) + np.array(other) * amount
    return "#" + "".join(f"{round(c):02x}" for c in mixed)


def _steps(colours: list[str]) -> list[list]:
    """A stepped colorscale: value (i + 0.5)/n gets colours[i] exactly."""
    n = len(colours)
    scale: list[list] = []
    for i, c in enumerate(colours):
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


def coloring(scheme: str, table: TokenTable) -> Coloring:
    n = len(table)
    is_key = np.repeat([0.0, 1.0], n)
    if scheme == "role":
        return Coloring(
            ((is_key + 0.5) / 2).astype(np.float32),
            _steps([QUERY, KEY]),
            [(QUERY, "query"), (KEY, "key")],
        )
    if scheme == "position":
        p = np.tile(table.normalised_position, 2)
        values = 0.5 * is_key + 0.4999 * p
        scale = [[0.0, "#c7e9c0"], [0.4999, "#00441b"], [0.5, "#fde0ef"], [1.0, "#7a0177"]]
        legend = [
            ("#c7e9c0", "query, start"),
            ("#00441b", "query, end"),
            ("#fde0ef", "key, start"),
            ("#7a0177", "key, end"),
        ]
        return Coloring(values.astype(np.float32), scale, legend)
    if scheme == "discrete":
        bucket = np.searchsorted(POSITION_BUCKETS, np.tile(table.position, 2), side="right") - 1
        colours: list[str] = []
        for hue in PALETTE:
            colours += [_mix(hue, (0, 0, 0), 0.35), _mix(hue, (255, 255, 255), 0.45)]  # query, key
        index = bucket * 2 + is_key
        legend = [(colours[2 * i], f"query pos {label}") for i, label in enumerate(BUCKET_LABELS)]
        legend += [
            (colours[2 * i + 1], f"key pos {label}") for i, label in enumerate(BUCKET_LABELS)
        ]
        return Coloring(((index + 0.5) / len(colours)).astype(np.float32), _steps(colours), legend)
    raise ValueError(f"unknown colour scheme {scheme!r}: choose one of {', '.join(SCHEMES)}")


def legend_entries(scheme: str) -> list[tuple[str, str]]:
    """The legend does not depend on the tokens: build it from a one-token table."""
    one = TokenTable(
        np.array(["a"]),
        np.zeros(1, np.int32),
        np.zeros(1, np.int32),
        np.ones(1, np.int32),
        np.zeros(1, bool),
    )
    return coloring(scheme, one).legend
