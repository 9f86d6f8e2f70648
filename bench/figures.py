"""5. The figure callbacks' work for a head whose maps are cached (PCA 2D, default options).

render() is what the Dash callbacks call; the JSON sizes are json.dumps(figure) (plotly typed
arrays are already base64 strings) and plotly's own writer, which Dash uses to send the figure
(it escapes every "/", a base64 character, as \\u002f); the wire bytes are that JSON as the app
sends it to a browser (gzip, dashboard/compression.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.timing import log, median, timed
from dashboard.config import Settings

REQUEST = ("minilm", "default", "pca", 2, ["translate", "scale"])
# issue 12: bytes on the wire per drawn point (tests/unit/test_payload.py holds figures to them)
MATRIX_WIRE_BUDGET = 7.0
HEAD_WIRE_BUDGET = 40.0


@dataclass
class FigureTiming:
    name: str
    first_ms: float  # first call: loads the token table (and builds hover text for the head view)
    steady_ms: float  # median of the later calls
    json_bytes: int  # len(json.dumps(figure))
    plotly_json_bytes: int  # len(plotly.io.json.to_json_plotly(figure)): what Dash sends
    serialize_ms: float  # to_json_plotly time
    n_points: int
    wire_bytes: int = 0  # the plotly JSON gzipped as the app sends it
    compress_ms: float = 0.0
    once_wire_bytes: int = 0  # sent once per corpus with the first figure (the hover table)

    @property
    def wire_per_point(self) -> float:
        return self.wire_bytes / max(self.n_points, 1)

    @property
    def json_per_point(self) -> float:
        return self.plotly_json_bytes / max(self.n_points, 1)


def drawn_points(figure: dict) -> int:
    """Markers drawn: typed arrays decoded (minus a matrix's heads not computed yet), plain
    lists as they are."""
    from dashboard.figures.encode import decode
    from dashboard.figures.matrix import MISSING

    total = 0
    for trace in figure["data"]:
        x = trace.get("x")
        if not trace["type"].startswith("scatter") or "markers" not in trace.get("mode", ""):
            continue
        if isinstance(x, dict):
            values = decode(x)
            total += int((values != MISSING).sum()) if x["dtype"] == "u2" else len(values)
        elif x is not None:
            total += len(x)
    return total


def _wire(value: Any) -> int:
    from plotly.io.json import to_json_plotly

    from dashboard.compression import compressed

    return len(compressed(to_json_plotly(value).encode()))


def _time_figure(name: str, build: Callable[[], dict[str, Any]], repeats: int) -> FigureTiming:
    from plotly.io.json import to_json_plotly

    from dashboard.compression import compressed

    figure, first = timed(build)
    steady = [timed(build)[1] for _ in range(repeats)]
    sent, serialize = timed(to_json_plotly, figure)
    wire, compress = timed(compressed, sent.encode())
    timing = FigureTiming(
        name,
        first * 1e3,
        median(steady) * 1e3,
        len(json.dumps(figure)),
        len(sent),
        serialize * 1e3,
        drawn_points(figure),
        len(wire),
        compress * 1e3,
    )
    log(
        f"figure {name}: {timing.steady_ms:.0f} ms, {timing.plotly_json_bytes / 1e6:.2f} MB JSON, "
        f"{timing.wire_bytes / 1e6:.2f} MB on the wire ({timing.wire_per_point:.1f} B/point)"
    )
    return timing


def measure_figures(cache_dir: Path, repeats: int = 5) -> list[FigureTiming]:
    from dashboard import catalog
    from dashboard.views import head, matrix
    from dashboard.views.request import resolve_request

    catalog.configure(Settings(cache_dir=cache_dir))
    request = resolve_request(*REQUEST)
    if request.get("error"):
        raise RuntimeError(request["error"])
    view = {"view": "head", "layer": 0, "head": 0}

    def matrix_figure() -> dict[str, Any]:
        figure, _ = matrix.render(request, "role", None, False)
        return figure

    def head_figure() -> dict[str, Any]:
        figure, *_ = head.render(view, request, "role", None)
        return figure

    single = _time_figure("single head (L0 H0)", head_figure, repeats)
    single.once_wire_bytes = _wire(head.render(view, request, "role", None)[4])
    return [_time_figure("matrix (72 heads)", matrix_figure, repeats), single]
