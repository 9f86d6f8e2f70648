"""Image view: the image as the model saw it, its patch grid, and one patch's attention on top."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

CROP = 224
SELECTED, HOVERED = "#00e0ff", "#ffffff"


def outline(row: int, col: int, colour: str) -> dict:
    """A rectangle around one patch of the grid."""
    return {
        "type": "rect",
        "x0": col - 0.5,
        "x1": col + 0.5,
        "y0": row - 0.5,
        "y1": row + 0.5,
        "line": {"color": colour, "width": 3},
    }


def model_crop(path: str | Path, size: int = CROP) -> bytes:
    """PNG of the image resized (shortest edge, bicubic) and centre-cropped as the processor does."""
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    scale = size / min(rgb.size)
    resized = rgb.resize(
        (max(size, round(rgb.width * scale)), max(size, round(rgb.height * scale))),
        Image.Resampling.BICUBIC,
    )
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    buffer = io.BytesIO()
    resized.crop((left, top, left + size, top + size)).save(buffer, format="PNG")
    return buffer.getvalue()


def image_figure(
    png: bytes,
    grid: int,
    weights: np.ndarray | None,
    selected: tuple[int, int] | None,
    title: str = "",
) -> dict:
    """weights [grid, grid] (attention to each patch) drawn as a translucent heatmap over the image;
    `selected` (row, col) is outlined. Clicking a cell selects that patch."""
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    z = np.zeros((grid, grid)) if weights is None else weights
    heat = {
        "type": "heatmap",
        "z": z.tolist(),
        "x": list(range(grid)),
        "y": list(range(grid)),
        "colorscale": [[0, "rgba(255,80,0,0)"], [1, "rgba(255,80,0,0.85)"]],
        "zmin": 0.0,
        "zmax": float(z.max()) or 1.0,
        "showscale": weights is not None,
        "colorbar": {"title": {"text": "attention"}, "thickness": 12},
        "hovertemplate": "row %{y}, column %{x}<br>attention %{z:.3f}<extra></extra>",
        "xgap": 0.5,
        "ygap": 0.5,
    }
    shapes = [outline(*selected, SELECTED)] if selected is not None else []
    return {
        "data": [heat],
        "layout": {
            "title": {"text": title, "x": 0.01, "font": {"size": 14}},
            "height": 560,
            "width": 600,
            "margin": {"l": 10, "r": 10, "t": 48, "b": 10},
            "xaxis": {"range": [-0.5, grid - 0.5], "visible": False, "constrain": "domain"},
            "yaxis": {"range": [grid - 0.5, -0.5], "visible": False, "scaleanchor": "x"},
            "images": [
                {
                    "source": source,
                    "xref": "x",
                    "yref": "y",
                    "x": -0.5,
                    "y": -0.5,
                    "sizex": grid,
                    "sizey": grid,
                    "sizing": "stretch",
                    "layer": "below",
                }
            ],
            "shapes": shapes,
            "plot_bgcolor": "white",
        },
    }
