"""What leaves the app as a file: names, the graphs' image-export config, and one head's map as
CSV or npz (the command line's columns). Pure Python: no dash, no torch."""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from dashboard.export_safety import spreadsheet_safe
from dashboard.models.qk import TokenTable

# Every graph's Plotly config; views/export.py adds the file name per view. "svgButton" is
# expanded by assets/export.js into a mode-bar button (a JSON config cannot hold its click
# function): PNG from Plotly's camera, SVG from the disk icon next to it.
GRAPH_CONFIG = {"displaylogo": False, "plotGlPixelRatio": 1, "responsive": True}
SVG_BUTTON = "qkatlas-svg"
PNG_SCALE = 2  # paper figures: twice the on-screen pixels


def _safe(part: str) -> str:
    """A file-name part: letters, digits, '.', '-' kept; anything else (e.g. '/') becomes '-'."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", part).strip("-") or "x"


def file_stem(
    model: str,
    corpus: str,
    method: str,
    layer: int | None = None,
    head: int | None = None,
    suffix: str = "",
) -> str:
    """`model_corpus_L{layer}H{head}_{method}` for a head (plus e.g. `_sentence3` for its
    sentence view), `model_corpus_matrix_{method}` for the matrix."""
    where = "matrix" if layer is None or head is None else f"L{layer}H{head}"
    stem = "_".join((_safe(model), _safe(corpus), where, _safe(method)))
    return f"{stem}_{suffix}" if suffix else stem


def view_stem(graph: str, request: dict | None, view: dict | None) -> str | None:
    """The file name of what `graph` ("matrix", "head", "sentence", "image-map", or the compare
    view's "compare-b"; its pane A is a "head") shows for
    the request and the URL's view state; None before there is a valid request."""
    if not request or request.get("error"):
        return None
    model, corpus, method = request["model"], request["corpus"], request["params"]["method"]
    view = view or {}
    if graph == "compare-b":  # the compare view's pane B: its own model and head
        model = view.get("b_model") or model
        view = {
            "layer": view.get("b_layer"),
            "head": view.get("b_head"),
            "panes": view.get("panes"),
        }
    whole = graph == "matrix" or view.get("panes") == "matrices"  # compare's two matrices too
    if whole or view.get("layer") is None or view.get("head") is None:
        return file_stem(model, corpus, method)
    layer, head = int(view["layer"]), int(view["head"])
    suffix = ""
    if graph in ("sentence", "image-map"):
        suffix = f"sentence{int(view.get('sentence') or 0)}"
        scope = view.get("scope") or "head"
        if graph == "image-map":
            suffix += "_map"
        elif scope != "head":  # the mean of the layer's (or every) head
            suffix += f"_{scope}-mean"
    return file_stem(model, corpus, method, layer, head, suffix)


PAGE_STEM = "qkatlas"  # a graph's file name before the page knows what it shows


def graph_config(stem: str | None = None, **extra) -> dict:
    """A graph's config: mode-bar PNG (camera) and SVG buttons that save as `stem`."""
    config = {**GRAPH_CONFIG, **extra}
    if stem is None:
        return config
    return {
        **config,
        "toImageButtonOptions": {"format": "png", "filename": stem, "scale": PNG_SCALE},
        "modeBarButtonsToAdd": [SVG_BUTTON],
    }


def head_columns(coords: np.ndarray, table: TokenTable) -> dict[str, np.ndarray]:
    """[2·pos] rows, queries then keys: x, y (z), role, token, sentence, position."""
    n = len(table)
    return {
        **{axis: coords[:, i] for i, axis in enumerate("xyz"[: coords.shape[1]])},
        "role": np.array(["query"] * n + ["key"] * n),
        "token": np.tile(table.token.astype(str), 2),
        "sentence": np.tile(table.sentence, 2),
        "position": np.tile(table.position, 2),
    }


def write_csv(columns: dict[str, np.ndarray], out: io.TextIOBase) -> None:
    """Header, then one row per point; text cells a spreadsheet would run are made inert."""
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in zip(*columns.values(), strict=True):
        writer.writerow([spreadsheet_safe(cell) for cell in row])


def head_csv(coords: np.ndarray, table: TokenTable) -> str:
    out = io.StringIO(newline="")
    write_csv(head_columns(coords, table), out)
    return out.getvalue()


def head_npz(coords: np.ndarray, table: TokenTable) -> bytes:
    """coords [2·pos, dims] and the metadata columns; numpy arrays only (no pickled objects)."""
    columns = {k: v for k, v in head_columns(coords, table).items() if k not in ("x", "y", "z")}
    out = io.BytesIO()
    np.savez(out, coords=coords, **columns)
    return out.getvalue()
