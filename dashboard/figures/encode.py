"""numpy → plotly.js typed-array spec ({"dtype", "bdata"}): ~4 bytes a float, not ~20 as text."""

from __future__ import annotations

import base64

import numpy as np

_DTYPES = {
    np.dtype("float32"): "f4",
    np.dtype("int32"): "i4",
    np.dtype("uint8"): "u1",
    np.dtype("int16"): "i2",
    np.dtype("uint16"): "u2",
    np.dtype("uint32"): "u4",
}
CODES = 255  # colour codes 0…255 stand for the values 0…1 of a colour scale


def color_codes(values: np.ndarray) -> np.ndarray:
    """[0, 1] colour values → uint8 codes for a trace with cmin 0, cmax CODES: a quarter of the
    bytes of float32. A stepped scale of fewer than CODES colours keeps every colour exactly
    (its steps are wider than a code)."""
    return np.rint(np.clip(values, 0.0, 1.0) * CODES).astype(np.uint8)


def hex_rgb(colour: str) -> list[int]:
    """ "#rrggbb" → [r, g, b]."""
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def code_colors(colorscale: list[list]) -> np.ndarray:
    """[CODES + 1, 3] uint8: the colour of each code on a colour scale of "#rrggbb" stops, as
    Plotly interpolates it (linearly in RGB between the stops around the code's value)."""
    stops = np.array([float(at) for at, _ in colorscale])
    rgb = np.array([hex_rgb(c) for _, c in colorscale], dtype=float)
    value = np.arange(CODES + 1) / CODES
    low = np.clip(np.searchsorted(stops, value, side="right") - 1, 0, len(stops) - 2)
    span = stops[low + 1] - stops[low]
    part = np.clip((value - stops[low]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    return np.rint(rgb[low] + (rgb[low + 1] - rgb[low]) * part[:, None]).astype(np.uint8)


def typed(values: np.ndarray, dtype: str | np.dtype = "float32") -> dict[str, str]:
    """One value a point, or (2-D) one row a point: Plotly reads a "shape" as rows."""
    arr = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
    spec = {"dtype": _DTYPES[np.dtype(dtype)], "bdata": base64.b64encode(arr.tobytes()).decode()}
    return {**spec, "shape": ",".join(map(str, arr.shape))} if arr.ndim > 1 else spec


def decode(spec: dict[str, str]) -> np.ndarray:
    """The inverse, for tests and for reading a figure back."""
    codes = {v: k for k, v in _DTYPES.items()}
    return np.frombuffer(
        base64.b64decode(spec["bdata"]), dtype=codes[spec["dtype"]].newbyteorder("<")
    )
