"""Screenshots for the README (docs/screenshots/), checked to show drawn maps, not blank plots.

Set QKATLAS_SCREENSHOT_DIR to write them elsewhere (e.g. to compare without touching docs/).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("QKATLAS_SCREENSHOT_DIR") or ROOT / "docs" / "screenshots")
QUERY_RGB, KEY_RGB = (0x1B, 0x9E, 0x77), (0xE7, 0x29, 0x8A)
HEAD = "layer=1&head=6"  # a head with clear structure
HOVER_POINT = 40  # a query token mid-sentence, so the hover shows context on both sides


def coloured_pixels(png: bytes, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are near `rgb` (the points are drawn at 0.75-0.8 opacity on white)."""
    Image = pytest.importorskip("PIL.Image")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(
        count
        for count, (r, g, b) in image.getcolors(maxcolors=1 << 24)
        if abs(r - rgb[0]) + abs(g - rgb[1]) + abs(b - rgb[2]) <= tolerance
    )


def head_shown(page) -> None:
    """The head section is laid out and the matrix gone (fit_window measures the page)."""
    page.wait(
        lambda _: not page.hidden("head-section") and page.hidden("matrix-section"),
        "the head section to replace the matrix",
    )


def fit_window(page, width: int = 1400) -> None:
    """Sizes the viewport to the whole page, so one screenshot shows everything."""
    driver = page.driver
    driver.set_window_size(width, 1400)
    frame = 1400 - driver.execute_script("return window.innerHeight;")  # the window's own chrome
    content = driver.execute_script(
        "const page = document.querySelector('.page');"
        "return Math.ceil(page.getBoundingClientRect().bottom + window.scrollY);"
    )
    driver.set_window_size(width, content + frame)
    driver.execute_script("window.scrollTo(0, 0);")


def settle(page) -> None:
    """Two animation frames and a beat: plotly has relaid out and WebGL has drawn."""
    page.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 300)));"
    )


def shoot(page, name: str) -> bytes:
    settle(page)
    png = page.screenshot(OUT / name)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return png


def test_screenshots(page):
    page.driver.set_script_timeout(10)

    page.open()
    page.wait_matrix_full()
    page.wait(lambda _: not page.hidden("matrix-section"), "the matrix section")
    fit_window(page)
    png = shoot(page, "matrix.png")
    assert coloured_pixels(png, QUERY_RGB) > 5_000, "green query points are drawn in the matrix"
    assert coloured_pixels(png, KEY_RGB) > 5_000, "pink key points are drawn in the matrix"

    page.open(f"?view=head&{HEAD}")
    page.wait_head(lambda h: h["type"] == "scattergl", "the 2D head figure")
    head_shown(page)
    fit_window(page)
    settle(page)
    label = page.hover_head_point(HOVER_POINT)  # the docs show what a hover tells you
    assert "sentence" in label
    # a hover also fills the side panel with the token's links: let that land first, and keep
    # the hover label on screen for the capture
    with contextlib.suppress(AssertionError):
        page.wait(lambda _: (page.text("head-panel") or "").strip(), "the links panel", timeout=5)
    settle(page)
    if not page.js("return !!document.querySelector('#head-graph .hoverlayer .hovertext');"):
        page.hover_head_point(HOVER_POINT)
        settle(page)
    png = shoot(page, "head.png")
    assert coloured_pixels(png, QUERY_RGB) > 2_000
    assert coloured_pixels(png, KEY_RGB) > 2_000

    page.open(f"?dims=3&view=head&{HEAD}")
    page.wait_head(
        lambda h: h["type"] == "scatter3d" and h["zlength"] == h["length"], "the 3D head figure"
    )
    head_shown(page)
    fit_window(page)
    png = shoot(page, "head-3d.png")
    assert coloured_pixels(png, QUERY_RGB) > 1_000
    assert coloured_pixels(png, KEY_RGB) > 1_000
