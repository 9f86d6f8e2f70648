"""The head-similarity view (one point per head of the model; a click opens the head) and, in
the single-head view, the most similar heads and the norm-scale curve. Screenshots of both."""

from __future__ import annotations

import pytest

from tests.browser.page import MATRIX_TIMEOUT
from tests.browser.probes import GRAPH_POINT_PIXEL_JS

pytestmark = pytest.mark.browser

SIMILARITY_JS = r"""
const gd = graph('similarity-graph');
if (!gd || !gd.data || !gd.data.length || !gd.data[0].customdata) return null;
return {n: arr(gd.data[0].x).length, heads: gd.data[0].customdata};
"""

CURVE_JS = r"""
const gd = graph('head-scale-curve');
if (!gd || !gd.data || !gd.data.length) return null;
return {x: arr(gd.data[0].x), y: arr(gd.data[0].y)};
"""

SIMILAR_LINKS_JS = r"""
return [...document.querySelectorAll('#head-similar a')].map((a) => a.getAttribute('href'));
"""


def test_similarity_view_draws_every_head_and_a_click_opens_it(page, minilm, screenshot_dir):
    from dashboard.projection.joint import RATIOS

    page.open("?view=similarity")
    page.wait(lambda _: not page.hidden("similarity-section"), "the similarity section")
    n_heads = minilm.n_layers * minilm.n_heads
    drawn = page.wait(
        lambda _: (lambda s: s if s and s["n"] == n_heads else False)(page.js(SIMILARITY_JS)),
        f"a similarity map of {n_heads} heads",
        MATRIX_TIMEOUT,
    )
    expected = [[layer, head] for layer in range(minilm.n_layers) for head in range(minilm.n_heads)]
    assert drawn["heads"] == expected  # one point per head, each named by its ids
    assert "Jensen–Shannon" in page.text("similarity-note")
    page.wait_job_done()
    page.screenshot(screenshot_dir / "similarity.png")

    layer, head = 2, 5
    index = layer * minilm.n_heads + head
    page.point_and_click(
        "similarity-graph", lambda: page.js(GRAPH_POINT_PIXEL_JS, "similarity-graph", index)
    )
    page.wait_query(view="head", layer=str(layer), head=str(head))
    page.wait(lambda _: not page.hidden("head-section"), "the head section")

    links = page.wait(
        lambda _: (lambda hrefs: hrefs if len(hrefs) == 5 else False)(page.js(SIMILAR_LINKS_JS)),
        "five similar heads",
        MATRIX_TIMEOUT,
    )
    curve = page.wait(
        lambda _: (lambda c: c if c and len(c["x"]) == len(RATIOS) else False)(page.js(CURVE_JS)),
        "the norm-scale curve",
        MATRIX_TIMEOUT,
    )
    assert curve["x"] == pytest.approx(list(RATIOS))
    assert all(-1 <= y <= 1 for y in curve["y"])
    assert "Most faithful readable" in page.text("head-scale-note")
    page.wait_head(lambda h: h["length"] > 0)
    page.screenshot(screenshot_dir / "head-similar.png")

    # a similar head's link opens it
    page.driver.find_element("css selector", "#head-similar a").click()
    first = dict(p.split("=") for p in links[0].lstrip("?").split("&"))
    page.wait_query(view="head", layer=first["layer"], head=first["head"])
