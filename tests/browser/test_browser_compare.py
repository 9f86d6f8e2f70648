"""The compare view in a real browser: two heads of MiniLM side by side, a hover ringed in both."""

from __future__ import annotations

import pytest

from dashboard.figures.single import PINNED

pytestmark = pytest.mark.browser

PANE_JS = """
const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!gd || !gd.data || !gd.data.length) { return null; }
const ring = gd.data[arguments[1]];
return {n: gd.data[0].text.length, ring: ring ? Array.from(ring.x || []).length : 0};
"""


def test_two_panes_and_a_linked_hover(page, default_tokens, screenshot_dir):
    page.open("?view=compare&layer=1&head=6&b_layer=1&b_head=7")
    n_points = 2 * default_tokens
    for pane in ("compare-a-graph", "compare-b-graph"):
        page.wait(
            lambda _, p=pane: (page.js(PANE_JS, p, PINNED) or {}).get("n") == n_points,
            f"{pane} drawn with every point",
            timeout=60,
        )
    assert page.hidden("head-section") and not page.hidden("compare-section")
    page.hover_graph_point("compare-a-graph", 40)
    page.wait(
        lambda _: all(
            (page.js(PANE_JS, p, PINNED) or {}).get("ring") == 1
            for p in ("compare-a-graph", "compare-b-graph")
        ),
        "the hovered token ringed in both panes",
    )
    # a BERT does not generate tokens: the control is off (its hint says: causal models only)
    box = page.driver.find_element("id", "ctl-generate")
    page.wait(lambda _: not box.is_enabled(), "the generate box off for a BERT")
    page.screenshot(screenshot_dir / "compare.png")
