"""The compare view in a real browser: two heads of MiniLM side by side, a hover ringed in both."""

from __future__ import annotations

import pytest

from dashboard.figures.single import PINNED

pytestmark = pytest.mark.browser

PANE_JS = """
const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!gd || !gd.data || !gd.data.length || !gd.data[0].text) { return null; }
const ring = gd.data[arguments[1]];
return {
  n: gd.data[0].text.length,
  ring: ring ? Array.from(ring.x || []).length : 0,
  drawn: gd._fullLayout.height,  // the map's height as Plotly drew it
  box: gd.getBoundingClientRect().height,
};
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
    for pane in ("compare-a-graph", "compare-b-graph"):
        # the map fills its pane: after a "Preparing…" placeholder with a height of its own
        # (a cold cache), Plotly kept that height and drew pane A's map 120 px tall
        shown = page.js(PANE_JS, pane, PINNED)
        assert abs(shown["drawn"] - shown["box"]) <= 1, f"{pane}: {shown}"
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


CELL_JS = """
const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis || !gd.data || gd.data.length < 3) return null;
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
return [box.left + xa._offset + xa.l2p(arguments[1]), box.top + ya._offset + ya.l2p(arguments[2])];
"""


def test_two_models_matrices_and_a_click_opens_the_head(page, screenshot_dir):
    from dashboard.figures.matrix import cell_center

    page.open("?view=compare&layer=0&head=0&b_layer=0&b_head=0&panes=matrices")
    for pane in ("compare-a-graph", "compare-b-graph"):
        page.wait(lambda _, p=pane: page.js(CELL_JS, p, 0, 0), f"{pane}'s matrix", timeout=120)
    assert page.radio("compare-panes", "matrices").is_selected()
    layer_box = page.driver.find_element("id", "compare-b-layer")
    assert not layer_box.is_displayed(), "no layer/head boxes beside a whole matrix"
    page.screenshot(screenshot_dir / "compare-matrices.png")

    page.point_and_click(
        "compare-b-graph", lambda: page.js(CELL_JS, "compare-b-graph", *cell_center(2, 5))
    )
    page.wait(
        lambda _: page.query().get("b_layer") == "2" and page.query().get("b_head") == "5",
        "pane B's head 2.5 opened from its matrix cell",
    )
    assert "panes" not in page.query()
    page.wait(lambda _: layer_box.is_displayed(), "pane B's layer box back for its head")
    page.wait(lambda _: (page.js(PANE_JS, "compare-b-graph", PINNED) or {}).get("n"), "pane B")
