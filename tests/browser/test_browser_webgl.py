"""A browser without WebGL (Chromium started with --disable-webgl --disable-3d-apis): the matrix
says what to enable instead of Plotly's "WebGL is not supported", and the single-head view draws
SVG."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NO_WEBGL_ARGS = ("--disable-webgl", "--disable-3d-apis")
TIMEOUT = 240  # s: the head waits for the first (cold) matrix job of a session

# the trace types of a graph, and whether Plotly put up its own "WebGL is not supported" notice
GRAPH_JS = """
const host = document.getElementById(arguments[0]);
const gd = host && host.querySelector('.js-plotly-plot');
return {types: gd && gd.data ? gd.data.map((t) => t.type) : null,
        plotlyNotice: document.body.innerText.includes('WebGL is not supported')};
"""


@pytest.fixture
def no_webgl(request, app_url, tmp_path):
    """A dash.testing browser as `dash_br`, with WebGL switched off."""
    from dash.testing.browser import Browser

    options = request.config.hook.pytest_setup_options()  # the conftest's Chromium options
    for option in options:
        for arg in NO_WEBGL_ARGS:
            option.add_argument(arg)
    with Browser(
        browser=request.config.getoption("webdriver"),
        headless=request.config.getoption("headless"),
        options=options,
        download_path=str(tmp_path),
        percy_run=False,
    ) as browser:
        yield browser


def page_hidden(driver, element_id: str) -> bool:
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]);"
        "return !e || e.hidden || e.offsetParent === null;",
        element_id,
    )


def _wait(driver, condition, message: str, timeout: float = TIMEOUT):
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.3).until(condition)
    except Exception as exc:
        raise AssertionError(f"timed out after {timeout} s: {message}") from exc


def test_without_webgl_the_matrix_says_what_to_enable_and_the_head_view_draws_svg(
    no_webgl, app_url
):
    driver = no_webgl.driver
    no_webgl.wait_for_page(f"{app_url}/", timeout=30)
    assert not driver.execute_script(
        "const c = document.createElement('canvas');"
        "return !!(c.getContext('webgl') || c.getContext('experimental-webgl'));"
    ), "this Chromium still has WebGL: the flags did not take"

    def notice(d):
        text = d.execute_script(
            "const e = document.getElementById('app-webgl-message');"
            "return e && !e.hidden && e.offsetParent !== null ? e.innerText : null;"
        )
        return text

    text = _wait(driver, notice, "the no-WebGL message in place of the matrix")
    assert "needs WebGL" in text and "hardware acceleration" in text.lower()
    assert not driver.execute_script(
        "return document.getElementById('matrix-graph').offsetParent !== null"
    ), "the matrix graph makes way for the message"
    assert page_hidden(driver, "matrix-note"), "no “click a head to open it” without a matrix"
    # the message's link opens a head, drawn as SVG
    driver.find_element("link text", "open layer 0, head 0").click()

    def head(d):
        found = d.execute_script(GRAPH_JS, "head-graph")
        return found if found["types"] else None

    found = _wait(driver, head, "the head figure")
    assert found["types"][0] == "scatter" and "scattergl" not in found["types"]
    assert not found["plotlyNotice"]
    # meanwhile the job has drawn heads: still no WebGL trace in the (hidden) matrix
    matrix = driver.execute_script(GRAPH_JS, "matrix-graph")
    assert "scattergl" not in (matrix["types"] or []) and not matrix["plotlyNotice"]
    n_points = driver.execute_script(
        "return document.querySelectorAll('#head-graph .scatterlayer .point').length"
    )
    assert n_points > 100, "the points are drawn as SVG"
