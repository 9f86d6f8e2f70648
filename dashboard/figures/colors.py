"""Colour schemes for query/key points. Points are ordered queries first, then keys.

Every scheme maps to one number per point in [0, 1] plus a colorscale, so a whole map stays
one WebGL trace with a typed colour array. Green is queries, pink is keys (as in AttentionViz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.figures.encode import hex_rgb
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
            "Position in the sentence (or image) divided by its length: light = start, dark = end "
            "(queries green, keys pink).",
        ),
        Scheme(
            "discrete",
            "Discrete position",
            "One hue per position bucket (0, 1, 2, 3, 4, 5–9, 10–19, 20–39, 40+); queries darker than keys.",
        ),
        Scheme("sentence", "Sentence", "One colour per sentence (12 colours, repeating)."),
        Scheme(
            "frequency",
            "Token frequency",
            "How often the token occurs in the corpus, log scale: dark = rare, yellow = frequent.",
        ),
        Scheme("image", "Image", "One colour per image (12 colours, repeating)."),
        Scheme(
            "row",
            "Patch row",
            "The patch's row in the image: dark = top, yellow = bottom; [CLS] grey.",
        ),
        Scheme(
            "column", "Patch column", "The patch's column: dark = left, yellow = right; [CLS] grey."
        ),
        Scheme("hue", "Patch hue", "The mean hue of the patch's pixels."),
        Scheme(
            "brightness",
            "Patch brightness",
            "The mean brightness of the patch's pixels: dark to light.",
        ),
        Scheme("label", "Label", "The label column of your CSV, one colour per label."),
        Scheme(
            "type",
            "Token type",
            "Word start, word piece (##, or no leading space in BPE), punctuation, number, special token; "
            "queries darker than keys.",
        ),
    )
}
TEXT_SCHEMES = ("role", "position", "discrete", "sentence", "frequency", "type", "label")
TOKEN_TYPES = ("word", "piece", "punctuation", "number", "special")
IMAGE_SCHEMES = ("role", "position", "image", "row", "column", "hue", "brightness")
VIRIDIS = ("#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725")
CATEGORIES = (*PALETTE, "#1f77b4", "#d62728", "#8c564b")
SPECIAL_GREY = "#b8bec7"


def schemes_for(modality: str) -> tuple[str, ...]:
    return IMAGE_SCHEMES if modality == "image" else TEXT_SCHEMES


@dataclass(frozen=True)
class Coloring:
    values: np.ndarray  # [2·pos] float32 in [0, 1]
    colorscale: list[list]
    legend: list[tuple[str, str]]  # (css colour, label)


def _mix(hex_colour: str, other: tuple[int, int, int], amount: float) -> str:
    rgb = np.array(hex_rgb(hex_colour), dtype=float)
    mixed = rgb * (1 - amount) + np.array(other) * amount
    return "#" + "".join(f"{round(c):02x}" for c in mixed)


# "discrete": per position bucket a dark query and a light key shade of one hue
DISCRETE = tuple(
    shade
    for hue in PALETTE
    for shade in (_mix(hue, (0, 0, 0), 0.35), _mix(hue, (255, 255, 255), 0.45))
)


def _steps(colours: list[str]) -> list[list]:
    """A stepped colorscale: value (i + 0.5)/n gets colours[i] exactly."""
    n = len(colours)
    scale: list[list] = []
    for i, c in enumerate(colours):
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


def coloring(scheme: str, table: TokenTable, labels: list[str] | None = None) -> Coloring:
    """`labels` names the label indices of a labelled corpus (for the legend)."""
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
        colours = list(DISCRETE)
        index = bucket * 2 + is_key
        legend = [(colours[2 * i], f"query pos {label}") for i, label in enumerate(BUCKET_LABELS)]
        legend += [
            (colours[2 * i + 1], f"key pos {label}") for i, label in enumerate(BUCKET_LABELS)
        ]
        return Coloring(((index + 0.5) / len(colours)).astype(np.float32), _steps(colours), legend)
    if scheme in ("sentence", "image"):
        index = np.tile(table.sentence % len(CATEGORIES), 2)
        return Coloring(
            ((index + 0.5) / len(CATEGORIES)).astype(np.float32),
            _steps(list(CATEGORIES)),
            [(c, f"{scheme} {i}, {i + 12}, …") for i, c in enumerate(CATEGORIES)],
        )
    if scheme == "label" and table.label is not None:
        index = np.tile(table.label % len(CATEGORIES), 2)
        names = labels or [str(i) for i in range(int(table.label.max()) + 1)]
        legend = [(CATEGORIES[i % len(CATEGORIES)], name) for i, name in enumerate(names[:24])]
        return Coloring(
            ((index + 0.5) / len(CATEGORIES)).astype(np.float32), _steps(list(CATEGORIES)), legend
        )
    if scheme == "type":
        kinds = np.tile(token_types(table), 2)
        colours: list[str] = []
        for hue in PALETTE[: len(TOKEN_TYPES)]:
            colours += [_mix(hue, (0, 0, 0), 0.3), _mix(hue, (255, 255, 255), 0.4)]  # query, key
        index = kinds * 2 + is_key
        legend = [(colours[2 * i], name) for i, name in enumerate(TOKEN_TYPES)]
        return Coloring(((index + 0.5) / len(colours)).astype(np.float32), _steps(colours), legend)
    if scheme == "frequency":
        _, inverse, counts = np.unique(table.token, return_inverse=True, return_counts=True)
        values = np.log1p(counts[inverse]) / np.log1p(counts.max())
        return _continuous(np.tile(values, 2), VIRIDIS, ("rare", "frequent"))
    if scheme in ("row", "column") and table.is_image:
        grid = table.row if scheme == "row" else table.col
        values = np.where(grid < 0, -1.0, grid / max(int(grid.max()), 1))
        return _continuous(
            np.tile(values, 2),
            VIRIDIS,
            ("top" if scheme == "row" else "left", "bottom" if scheme == "row" else "right"),
        )
    if scheme == "hue" and table.hue is not None:
        wheel = tuple(_hue_colour(h) for h in np.linspace(0, 1, 7))
        return _continuous(np.tile(table.hue, 2), wheel, ("red", "violet"), special=False)
    if scheme == "brightness" and table.brightness is not None:
        return _continuous(
            np.tile(table.brightness, 2), ("#111111", "#e8e8e8"), ("dark", "light"), special=False
        )
    raise ValueError(
        f"unknown colour scheme {scheme!r} for this corpus: choose one of {', '.join(SCHEMES)}"
    )


def token_types(table: TokenTable) -> np.ndarray:
    """[pos] index into TOKEN_TYPES, from the token's text alone (cheap, tokenizer-agnostic)."""
    tokens = [str(t) for t in table.token]
    bpe = any(t[:1] in ("Ġ", "▁") for t in tokens)
    kinds = np.zeros(len(tokens), dtype=np.int64)
    for i, (token, special) in enumerate(zip(tokens, table.special, strict=True)):
        bare = token.lstrip("Ġ▁").removeprefix("##")
        if special:
            kinds[i] = 4
        elif bare.isdigit():
            kinds[i] = 3
        elif bare and not any(c.isalnum() for c in bare):
            kinds[i] = 2
        elif token.startswith("##") or (
            bpe and table.position[i] > 0 and token[:1] not in ("Ġ", "▁")
        ):
            kinds[i] = 1
    return kinds


def _continuous(
    values: np.ndarray, colours: tuple[str, ...], ends: tuple[str, str], special: bool = True
) -> Coloring:
    """values in [0, 1] on a colour ramp; with `special`, a value < 0 ([CLS]) is grey."""
    n = len(colours)
    low = 0.04 if special else 0.0
    scale: list[list] = [[0.0, SPECIAL_GREY], [low, SPECIAL_GREY]] if special else []
    scale += [[low + (1 - low) * i / (n - 1), c] for i, c in enumerate(colours)]
    mapped = np.where(values < 0, 0.0, low + (1 - low) * np.clip(values, 0, 1))
    legend = [(colours[0], ends[0]), (colours[-1], ends[1])] + (
        [(SPECIAL_GREY, "[CLS]")] if special else []
    )
    return Coloring(mapped.astype(np.float32), scale, legend)


def _hue_colour(h: float) -> str:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(h % 1.0, 0.85, 0.9)
    return "#" + "".join(f"{round(255 * c):02x}" for c in (r, g, b))


def applicable(scheme: str, table: TokenTable) -> str:
    """The scheme if it fits this corpus, else query vs key."""
    if scheme == "label" and table.label is None:
        return "role"
    return scheme if scheme in schemes_for("image" if table.is_image else "text") else "role"


def legend_entries(scheme: str) -> list[tuple[str, str]]:
    """The legend does not depend on the tokens: build it from a one-patch table."""
    one = TokenTable(
        np.array(["a"]),
        np.zeros(1, np.int32),
        np.zeros(1, np.int32),
        np.ones(1, np.int32),
        np.zeros(1, bool),
        row=np.zeros(1, np.int32),
        col=np.zeros(1, np.int32),
        hue=np.zeros(1, np.float32),
        brightness=np.zeros(1, np.float32),
        label=np.zeros(1, np.int32),
    )
    return coloring(scheme, one, ["(your labels)"]).legend
