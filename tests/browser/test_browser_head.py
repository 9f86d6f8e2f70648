"""The single-head view: opening it from the matrix, colours, going back, and URLs that open it."""

from __future__ import annotations

import pytest

from dashboard import ids
from dashboard.figures.colors import DISCRETE, KEY, QUERY
from tests.browser.page import outputs
from tests.browser.probes import CALLS_JS

pytestmark = pytest.mark.browser

POSITION_FIRST = "#c7e9c0"  # a query at the start of its sentence


def open_head_by_click(page, model, layer: int, head: int) -> dict:
    """From the matrix, a real mouse click on one point of (layer, head); returns the matrix."""
    m = page.wait_matrix_full(model)
    n_points = m["n_points"]
    page.click_matrix_point(layer, head * n_points + 3)
    page.wait_query(view="head", layer=str(layer), head=str(head))
    return m


def test_click_on_a_head_opens_it(page, minilm, default_tokens):
    page.open()
    open_head_by_click(page, minilm, layer=2, head=5)
    n_tokens, n_points = default_tokens, 2 * default_tokens  # the head view shows every token

    q = page.query()
    assert (q["view"], q["layer"], q["head"]) == ("head", "2", "5")
    page.wait(lambda _: not page.hidden("head-section"), "the head section to show")
    assert page.hidden("matrix-section")
    page.wait(lambda _: page.text("head-title") == "Layer 2 · head 5", "the head title")

    h = page.wait_head(lambda h: h["length"] == n_points, f"a head figure of {n_points} points")
    assert h["type"] == "scattergl"
    assert h["finite"] == h["ylength"] == n_points
    assert h["title"].startswith("Layer 2 · head 5 · PCA 2D")
    # one hover text per point: every token once as a query and once as a key, in context
    texts = h["text"]
    assert len(texts) == n_points
    assert sum(t.startswith("query · ") for t in texts) == n_tokens
    assert sum(t.startswith("key · ") for t in texts) == n_tokens
    assert any(t.startswith("query · <b>[CLS]</b> · position 0 of ") for t in texts)
    assert any(t.startswith("key · <b>[CLS]</b> · position 0 of ") for t in texts)
    assert all("<b>[" in t and "sentence " in t for t in texts[:50])
    assert f"{n_tokens:,} tokens, {n_points:,} points" in page.text("head-note")

    # hovering a point shows its token in context
    label = page.hover_head_point(1)
    assert label.startswith("query · ") or label.startswith("key · ")
    assert "position" in label and "sentence" in label


# Each callback request from now on (tests/browser/probes.py) and each time the matrix is drawn.
RECORD_JS = (
    CALLS_JS
    + """
const rec = window.__qkCalls;
rec.matrixDraws = 0;
graph('matrix-graph').on('plotly_afterplot', () => { rec.matrixDraws += 1; });
"""
)


MATRIX_COLORS_JS = """
const gd = graph('matrix-graph');
return gd && gd.data && gd.data.length ? rgbColors(gd.data[0].marker) : null;
"""


def test_a_head_click_runs_only_the_head_views_callbacks(page, minilm):
    """The click is answered by the URL callback itself (one round trip before the head's
    figure is asked for), the views not shown run nothing (each hears the view through its own
    gate, ids.VIEW_GATES), and the hidden matrix is not redrawn (Plotly checks only a graph's
    own display: the matrix hid, was resized and redrew its WebGL points; assets/export.js)."""
    page.open()
    m = page.wait_matrix_full(minilm)
    page.js(RECORD_JS)
    page.click_matrix_point(2, 5 * m["n_points"] + 3)
    page.wait_head(lambda h: h["title"].startswith("Layer 2 · head 5"), "the clicked head")
    record = page.wait(  # the head view's last callbacks follow the analysis job's answer
        lambda _: (
            (r := page.js("return window.__qkCalls"))["inflight"] == 0
            and any(ids.HEAD_SCALE_CURVE in call["output"] for call in r["calls"])
            and r
        ),
        "the head view's callbacks answered",
    )
    calls = [outputs(call["output"]) for call in record["calls"]]
    # the URL callback answers the click: no callback of the URL's search alone before it
    assert [(ids.URL, "search")] not in calls
    assert any((ids.REQUEST, "data") in call for call in calls)
    assert any((ids.HEAD_FIGURE, "data") in call for call in calls)
    hidden_views = {
        (ids.SENTENCE_GRAPH, "figure"),
        (ids.SENTENCE_PICK, "max"),
        (ids.IMAGE_MAP, "figure"),
        (ids.SIMILARITY_GRAPH, "figure"),
        (ids.COMPARE_A_GRAPH, "figure"),
        (ids.COMPARE_SECTION, "className"),
    }
    assert not [call for call in calls if hidden_views & set(call)]
    # nor the no-WebGL notice, nor the hidden matrix's figure but for the job's reports and
    # heads measured meanwhile (each heard every new view or link)
    assert not [call for call in calls if (ids.WEBGL_MESSAGE, "children") in call]
    matrix_triggers = {
        changed
        for call in record["calls"]
        if (ids.MATRIX_GRAPH, "figure") in outputs(call["output"])
        for changed in call["changed"]
    }
    assert matrix_triggers <= {f"{ids.JOB_PROGRESS}.data", f"{ids.METRICS}.data"}
    assert record["matrixDraws"] == 0


def test_colour_scheme_change_updates_the_head(page):
    page.open("?view=head&layer=2&head=5")
    h = page.wait_head(
        lambda h: h["colors"] == sorted([QUERY, KEY]), "the head in query/key colours"
    )
    page.wait(  # the legend is a callback's output: on a busy machine it comes late
        lambda _: (page.text("legend") or "").startswith("Queries green, keys pink."),
        "the query/key legend",
    )

    page.radio("ctl-color", "position").click()
    page.wait_query(color="position", view="head", layer="2", head="5")
    h2 = page.wait_head(lambda h: POSITION_FIRST in h["colors"], "the head in position colours")
    assert QUERY not in h2["colors"] and len(h2["colors"]) > len(h["colors"])
    assert h2["length"] == h["length"], "same points, new colours"
    page.wait(
        lambda _: page.text("legend").startswith("Position in the sentence"), "the position legend"
    )
    legend = page.text("legend")
    assert "query, start" in legend and "key, end" in legend
    assert "Queries green, keys pink." not in legend
    assert not page.hidden("head-section"), "a colour change keeps the head open"


def test_back_button_and_browser_history(page, minilm):
    page.open()
    open_head_by_click(page, minilm, layer=2, head=5)
    page.wait(lambda _: not page.hidden("head-section"), "the head section to show")
    # a colour changed while the head shows: the hidden matrix takes it as it opens again
    page.radio("ctl-color", "position").click()
    page.wait_head(lambda h: POSITION_FIRST in h["colors"], "the head recoloured")

    # the page's own back button: to the matrix, with the head dropped from the URL
    page.driver.find_element("id", "head-back").click()
    page.wait(lambda _: "view" not in page.query(), "a URL without view=head")
    q = page.query()
    assert "layer" not in q and "head" not in q
    page.wait(lambda _: not page.hidden("matrix-section"), "the matrix section to show")
    assert page.hidden("head-section")
    assert page.matrix()["traces"], "the matrix is still drawn"
    page.wait(
        lambda _: POSITION_FIRST in (page.js(MATRIX_COLORS_JS) or []),
        "the matrix in the colours chosen while it was hidden",
    )

    # the browser's Back: to the head again
    page.driver.back()
    page.wait_query(view="head", layer="2", head="5")
    page.wait(lambda _: not page.hidden("head-section"), "the head section after Back")
    assert page.hidden("matrix-section")
    assert page.text("head-title") == "Layer 2 · head 5"

    # and Forward: to the matrix
    page.driver.forward()
    page.wait(lambda _: "view" not in page.query(), "a URL without view=head after Forward")
    page.wait(lambda _: not page.hidden("matrix-section"), "the matrix section after Forward")
    assert page.hidden("head-section")


def test_url_opens_a_head_with_its_settings(page):
    page.open("?method=pca&dims=2&color=discrete&view=head&layer=1&head=3")
    page.wait(lambda _: not page.hidden("head-section"), "the head section to show")
    assert page.hidden("matrix-section")
    page.wait(lambda _: page.text("head-title") == "Layer 1 · head 3", "the head title")
    assert page.radio("ctl-color", "discrete").is_selected()
    assert not page.radio("ctl-color", "role").is_selected()
    assert page.radio("ctl-method", "pca").is_selected()
    assert page.radio("ctl-dims", "2").is_selected()

    h = page.wait_head(
        lambda h: set(h["colors"]) <= set(DISCRETE) and len(h["colors"]) > 2,
        "the head in the position buckets' colours",
    )
    assert h["title"].startswith("Layer 1 · head 3 · PCA 2D")
    assert page.text("legend").startswith("One hue per position bucket")
    q = page.query()
    assert (q["view"], q["layer"], q["head"], q["color"]) == ("head", "1", "3", "discrete")


def wait_head_full_size(page, n_points: int, how: str) -> dict:
    """Until the head's map of n_points has a plot area over half the window tall, steady for
    1.5 s (the bug: a moment after it is drawn, the graph collapses to a ~118 px strip, the
    links panel's min-height, and stays so until a hover)."""
    page.wait(lambda _: not page.hidden("head-section"), f"the head section ({how})")
    page.wait_job_done()
    found = []

    def full(_):
        found[:] = [page.head_size()]
        size = found[0]
        ok = size and size["points"] == n_points and size["plot"] >= 0.5 * size["window"]
        return size if ok and size["steady"] >= 1500 else False

    try:
        return page.wait(full, f"the head's plot area at full height ({how})", 15)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nlast size: {found}") from None


def test_head_map_opens_at_full_height_every_time(page, minilm, default_tokens):
    """Opened by a click on the matrix and by a direct URL, a few times each: never a strip."""
    n_points = 2 * default_tokens
    heads = [(2, 5), (0, 1), (4, 9), (1, 6)]
    page.open()
    page.wait_job_done(page.DECODER_TIMEOUT)  # a cold matrix on a busy machine: be patient once
    for layer, head in heads:
        page.open()
        open_head_by_click(page, minilm, layer, head)
        wait_head_full_size(page, n_points, f"click on L{layer} H{head}")
    for layer, head in heads[:3]:
        page.open(f"?view=head&layer={layer}&head={head}")
        wait_head_full_size(page, n_points, f"URL of L{layer} H{head}")
    page.open("?dims=3&view=head&layer=1&head=6")
    wait_head_full_size(page, n_points, "URL of a 3D map")


HOVER_LABEL_JS = (  # in 3D the label is in the scene's own svg, not the main .hoverlayer
    "const e = document.querySelector('#head-graph .hovertext');return e && e.textContent;"
)
SPIKES_JS = "const s = graph('head-graph')._fullLayout.scene; return [s.xaxis.showspikes, s.yaxis.showspikes, s.zaxis.showspikes];"


def hover_3d(page) -> str | None:
    """Moves the mouse over the middle of the 3D map until Plotly shows a hover label that
    stays (a redraw on hover used to drop it); returns the label, None if none stayed."""
    from selenium.webdriver.common.action_chains import ActionChains

    left, top, width, height = page.js(
        "const g = graph('head-graph'); g.scrollIntoView({block: 'center'});"
        "const b = g.getBoundingClientRect(); return [b.left, b.top, b.width, b.height];"
    )
    for dx in range(-120, 121, 30):
        for dy in (-40, 0, 40):
            x, y = left + width / 2 + dx, top + height / 2 + dy
            ActionChains(page.driver).move_to_location(int(x), int(y)).pause(0.1).move_by_offset(
                1, 0
            ).perform()
            try:  # a label, still there after the links panel's callback has answered
                page.wait(lambda _: page.js(HOVER_LABEL_JS), "a hover label", 1.5)
                page.wait(
                    lambda _: "most" in (page.text("head-panel") or ""), "the panel", UI_TIMEOUT
                )
                label = page.js(HOVER_LABEL_JS)
            except AssertionError:
                continue
            if label:
                return label
    return None


UI_TIMEOUT = 20


def test_3d_head_hover_keeps_its_tooltip_and_draws_no_lines(page):
    page.open("?dims=3&view=head&layer=1&head=6")
    page.wait_head(lambda h: h["type"] == "scatter3d" and h["zlength"] == h["length"])
    page.wait_job_done()
    label = hover_3d(page)
    assert label and (label.startswith("query · ") or label.startswith("key · ")), label
    assert "sentence" in label
    assert all(len(x) == 0 for x, _ in page.head_lines()), "a hover draws no lines in 3D"
    assert page.js(SPIKES_JS) == [False] * 3, "no spike lines from the point to the walls"
