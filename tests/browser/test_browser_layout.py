"""The page shell at a laptop's and a desktop's screen: the view starts on the first screen, fits
the width, and the settings sidebar collapses and expands.

Writes docs/screenshots/layout-1280x720.png and layout-1920x1080.png (or to
QKATLAS_SCREENSHOT_DIR), each exactly one screen, as a person first sees the page.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]

GEOMETRY_JS = r"""
const box = id => {
    const e = document.getElementById(id);
    if (!e || e.offsetParent === null) return null;
    const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width};
};
return {
    width: window.innerWidth,
    height: window.innerHeight,
    scroll_width: document.scrollingElement.scrollWidth,
    matrix: box('matrix-section'),
    graph: box('matrix-graph'),
    sidebar: box('app-sidebar'),
    plot: (g => g && g.getBoundingClientRect().width)(
        document.querySelector('#matrix-graph .main-svg')),
};
"""


def viewport(page, width: int, height: int) -> None:
    """Sizes the window so the page itself gets width × height pixels: the window's frame is
    what the window has beyond the page, and a busy browser applies a new size a moment later
    (it answered with the old one once), so the size is set until the page reports it."""
    driver = page.driver

    def sized(_) -> bool:
        inner = driver.execute_script("return [window.innerWidth, window.innerHeight];")
        if inner == [width, height]:
            return True
        outer = driver.get_window_size()
        driver.set_window_size(
            outer["width"] + width - inner[0], outer["height"] + height - inner[1]
        )
        return False

    page.wait(sized, f"a page of {width} × {height} px")


def geometry(page) -> dict:
    return page.driver.execute_script(GEOMETRY_JS)


def settle(page) -> None:
    page.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 300)));"
    )


def first_screen(page, model, out: Path, width: int, height: int) -> dict:
    page.driver.set_script_timeout(10)
    viewport(page, width, height)
    page.open()
    page.wait_matrix_full(model)
    page.wait_job_done()  # no progress in the navbar of the picture
    page.driver.execute_script("window.scrollTo(0, 0);")
    settle(page)
    g = geometry(page)
    assert g["matrix"] and g["sidebar"], g
    assert g["matrix"]["top"] < 0.25 * height, f"the matrix starts below a quarter screen: {g}"
    assert g["scroll_width"] <= width, f"the page scrolls sideways: {g}"
    assert g["graph"]["right"] <= width and g["plot"] <= g["graph"]["width"] + 1, g
    assert g["sidebar"]["right"] <= g["matrix"]["left"], f"the sidebar overlaps the view: {g}"
    png = base64.b64decode(page.driver.get_screenshot_as_base64())
    (out / f"layout-{width}x{height}.png").write_bytes(png)
    return g


def test_layout_at_1280x720_matrix_on_first_screen_and_sidebar_collapses(
    page, minilm, screenshot_dir
):
    before = first_screen(page, minilm, screenshot_dir, 1280, 720)

    toggle = page.driver.find_element("id", "app-sidebar-toggle")
    toggle.click()
    page.wait(lambda _: page.hidden("app-sidebar") and page.hidden("ctl-model"), "sidebar hidden")

    def plot_width(_):
        g = geometry(page)
        return g if g["plot"] > before["plot"] + 200 else False

    wide = page.wait(plot_width, "the matrix to widen into the sidebar's space")
    assert wide["matrix"]["left"] < 40 and wide["scroll_width"] <= 1280, wide

    toggle.click()
    page.wait(lambda _: not page.hidden("ctl-model"), "the sidebar back, with its controls")
    page.wait(
        lambda _: abs(geometry(page)["plot"] - before["plot"]) <= 2, "the matrix back to its width"
    )
    # the controls work after the round trip
    page.radio("ctl-color", "position").click()
    page.wait(
        lambda _: (page.text("legend") or "").startswith("Position in the sentence"),
        "the position legend",
    )


def test_layout_at_1920x1080_shows_the_whole_matrix(page, minilm, screenshot_dir):
    g = first_screen(page, minilm, screenshot_dir, 1920, 1080)
    assert g["graph"]["bottom"] <= 1080, f"all six layers on the first screen: {g}"
