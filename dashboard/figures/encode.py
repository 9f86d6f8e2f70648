"""numpy → plotly.js typed-array spec ({"dtype", "bdata"}): ~4 bytes a float, not ~20 as text."""

from __future__ import annotations

import base64

import numpy as np

_DTYPES = {
    np.dtype("float32"): "f4",
    np.dtype("int32"): "i4",
    np.dtype("uint8"): "u1",
    np.dtype("int16"): "i2",
}


def typed(values: np.ndarray, dtype: str | np.dtype = "float32") -> dict[str, str]:
    arr = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
    code = _DTYPES[np.dtype(dtype)]
    return {"dtype": code, "bdata": base64.b64encode(arr.tobytes()).decode("ascii")}


def decode(spec: dict[str, str]) -> np.ndarray:
    """The inverse, for tests and for reading a figure back."""
    codes = {v: k for k, v in _DTYPES.items()}
    return np.frombuffer(
        base64.b64decode(spec["bdata"]), dtype=codes[spec["dtype"]].newbyteorder("<")
    )
