"""The matrix view on the default model, and a bad model in the URL."""

from __future__ import annotations

import time

import pytest

from dashboard import ids
from tests.browser.page import outputs
from tests.browser.probes import CALLS_JS

pytestmark = pytest.mark.browser


def test_default_model_shows_every_head(page, minilm, default_tokens, cell_points):
    N_LAYERS, N_HEADS = minilm.n_layers, minilm.n_heads
    page.open()

    # the control shows the default model
    # (dcc.Dropdown renders asynchronously: wait for it)
    page.wait(
        lambda _: "all-MiniLM-L6-v2" in (page.text("ctl-model") or ""), "the model dropdown's value"
    )
    assert page.query().get("model", "minilm") == "minilm"

    # one WebGL trace per layer, each with N_HEADS head blocks that are all drawn (no NaN left)
    m = page.wait_matrix_full(minilm)
    n_points = m["n_points"]
    assert len(m["traces"]) == N_LAYERS
    for trace in m["traces"]:
        assert trace["type"] == "scattergl"
        assert trace["length"] == trace["ylength"] == N_HEADS * n_points
        assert trace["filled"] == [n_points] * N_HEADS
    # a cell draws each sampled token's query and key: as many as a cell of its size shows
    assert n_points == cell_points(default_tokens, page, minilm), (n_points, default_tokens)
    assert n_points < 2 * default_tokens, "the default corpus is sampled, not drawn whole"
    # ...and that size is the one the page lays out: the server's rule (figures/matrix.cell_px)
    # agrees with Plotly's cells in this window (the viewport is reported in 40 px steps)
    from dashboard.figures.matrix import UNIT, cell_px

    viewport = page.driver.execute_script("return window.dash_clientside.qkatlas.viewport()")
    drawn_px = page.driver.execute_script(
        "const gd = document.querySelector('#matrix-graph .js-plotly-plot');"
        "return [gd._fullLayout.xaxis._m * arguments[0], -gd._fullLayout.yaxis._m * arguments[0]];",
        UNIT,
    )
    expected_px = cell_px(viewport, N_LAYERS, N_HEADS)
    assert all(abs(abs(px) - expected_px) <= 6 for px in drawn_px), (drawn_px, expected_px)
    assert "all-MiniLM-L6-v2" in m["title"] and "Wikipedia sample" in m["title"]

    # the axis labels name every head and every layer
    ticks = page.driver.execute_script(
        "const ticks = '#matrix-graph .xtick text, #matrix-graph .ytick text';"
        "return Array.from(document.querySelectorAll(ticks)).map(e => e.textContent);"
    )
    assert [f"H{h}" for h in range(N_HEADS)] == [t for t in ticks if t.startswith("H")]
    assert [f"L{layer}" for layer in range(N_LAYERS)] == [t for t in ticks if t.startswith("L")]

    # the matrix shows, the single-head view and the alert do not; the job panel has finished
    assert not page.hidden("matrix-section")
    assert page.hidden("head-section")
    assert page.hidden("app-alert"), page.text("app-alert")
    assert f"{N_LAYERS} layers × {N_HEADS} heads" in page.text("ctl-model-info")
    n_maps = f"{N_LAYERS * N_HEADS} of {N_LAYERS * N_HEADS}"
    page.wait(lambda _: n_maps in (page.text("job-text") or ""), f"the job to report {n_maps} maps")

    # and the browser logged no errors on the way
    severe = [e for e in page.br.get_logs() if e.get("level") == "SEVERE"]
    assert severe == [], severe


def test_unknown_model_in_url_is_a_message_not_a_traceback(page):
    page.open("?model=nope")
    page.wait(lambda _: not page.hidden("app-alert"), "the alert to show")
    alert = page.text("app-alert")
    assert "unknown model" in alert
    assert "nope" in alert and "minilm" in alert, "the message names the bad id and the known ones"
    source = page.driver.page_source
    assert "Traceback" not in source
    assert 'File "' not in source
    # nothing is drawn for a request that cannot run
    assert not page.matrix()


# The matrix's cell heatmap and badges, and the graph's box, as the browser has them.
MATRIX_CELLS_JS = r"""
const gd = graph('matrix-graph');
if (!gd || !gd.data) return null;
const cells = gd.data.find((t) => t.name === 'cells');
const badges = gd.data.find((t) => t.name === 'stand-ins');
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
const box = gd.getBoundingClientRect();
return {z: cells ? cells.z : null, badges: badges ? Array.from(badges.text || []) : null,
        title: (gd.layout.title || {}).text || '',
        dashed: (gd.layout.shapes || []).filter((s) => s.line.dash === 'dot').length,
        grid: {left: box.left + xa._offset, width: xa._length, top: box.top + ya._offset,
               height: ya._length}, box: {width: box.width, height: box.height}};
"""


def test_first_paint_says_loading_not_empty_axes(page):
    page.br.wait_for_page(page.base_url, timeout=20)
    page.br.wait_for_element("#matrix-graph .main-svg", timeout=20)
    # the first thing drawn in the graph: the loading note, or already the matrix; never bare axes
    ticks, text = page.driver.execute_script(
        "const g = document.getElementById('matrix-graph');"
        "return [g.querySelectorAll('.xtick text, .ytick text').length, g.innerText];"
    )
    assert "Loading the matrix" in text or any(t.startswith("H") for t in text.split()), text
    if "Loading the matrix" in text:
        assert ticks == 0


def test_the_page_keeps_the_browsers_own_string_trim(page):
    """Dash's polyfill swaps it for a regular expression that Plotly then runs once per point
    (assets/native-trim.js); the page must end with the browser's own, and trim as it does."""
    page.br.wait_for_page(page.base_url, timeout=20)
    page.br.wait_for_element("#matrix-graph .main-svg", timeout=20)
    # the browser's own trim, from a fresh document of the same browser (no polyfill there)
    own, trimmed = page.driver.execute_script(
        "const frame = document.createElement('iframe'); document.body.appendChild(frame);"
        "const own = frame.contentWindow.String.prototype.trim; frame.remove();"
        "return [own.call('\\u180e') === String.prototype.trim.call('\\u180e'),"
        " ' \\u00a0rgb(1, 2, 3)\\n'.trim()];"
    )
    assert own, "String.prototype.trim is not the browser's own"
    assert trimmed == "rgb(1, 2, 3)"


def test_matrix_fits_the_window_with_hover_per_cell(page, minilm):
    N_LAYERS, N_HEADS = minilm.n_layers, minilm.n_heads
    page.driver.set_window_size(1280, 720)
    page.open()
    page.wait_matrix_full(minilm)
    page.wait_job_done()
    # the matrix is on the first screen (test_browser_layout): measure it where it stays
    page.driver.execute_script("window.scrollTo(0, 0);")
    page.wait(lambda _: page.driver.execute_script("return scrollY === 0;"), "the page at its top")
    m = page.js(MATRIX_CELLS_JS)
    width, height = page.driver.execute_script("return [innerWidth, innerHeight];")
    assert m["box"]["height"] <= height, "the whole matrix, head labels included, fits the window"
    assert m["grid"]["left"] + m["grid"]["width"] <= width
    # square cells that fill the width or the height (no wide gap beside the grid)
    cell_w, cell_h = m["grid"]["width"] / N_HEADS, m["grid"]["height"] / N_LAYERS
    assert abs(cell_w - cell_h) < 1.5, (cell_w, cell_h)
    assert m["grid"]["width"] > 0.9 * m["box"]["width"] - 60 or m["grid"]["height"] > 0.8 * (
        m["box"]["height"] - 80
    ), m
    # hovering a cell names its layer and head
    from selenium.webdriver.common.action_chains import ActionChains

    x = m["grid"]["left"] + cell_w * 4.9  # head 4, near its right edge (not on the map centre)
    y = m["grid"]["top"] + cell_h * 2.1  # layer 2, near its top
    ActionChains(page.driver).move_to_location(2, 2).pause(0.1).move_to_location(
        round(x), round(y)
    ).pause(0.3).move_by_offset(1, 0).perform()
    label = page.wait(
        lambda d: d.execute_script(
            "const e = document.querySelector('#matrix-graph .hoverlayer .hovertext');"
            "return e && e.textContent;"
        ),
        "a hover label on a matrix cell",
    )
    assert "Layer 2 · head 4" in label and "PCA map" in label, label


def test_cancel_says_so_and_marks_the_pca_stand_ins(page, minilm):
    N_LAYERS, N_HEADS = minilm.n_layers, minilm.n_heads
    page.open("?method=umap")  # UMAP of 72 heads: minutes; PCA stand-ins fill the matrix first
    page.wait(
        lambda _: f"of {N_LAYERS * N_HEADS} UMAP maps" in (page.text("job-text") or ""),
        lambda: (
            f"progress to count the {N_LAYERS * N_HEADS} UMAP maps only; "
            f"it says {page.text('job-text')!r}"
        ),
        timeout=90,
    )
    page.wait_matrix_full(minilm)  # every cell shows its PCA stand-in …
    m = page.js(MATRIX_CELLS_JS)
    stand_ins = sum(v == 1 for row in m["z"] for v in row)
    assert stand_ins > 0 and len(m["badges"]) == m["dashed"] == stand_ins  # … marked as such
    assert f"{stand_ins} of {N_LAYERS * N_HEADS} cells still show PCA" in m["title"]
    assert (
        int(page.driver.find_element("id", "job-bar").get_attribute("value")) < N_LAYERS * N_HEADS
    )

    page.driver.find_element("id", "job-cancel").click()
    page.wait(lambda _: "Cancelled" in (page.alert_text() or ""), "a message that says cancelled")
    page.wait(lambda _: page.hidden("job-panel"), "the job panel to close")
    m = page.js(MATRIX_CELLS_JS)
    left = sum(v == 1 for row in m["z"] for v in row)
    assert left > 0 and len(m["badges"]) == left, "the cells left as PCA stay marked"
    assert f"{left} of {N_LAYERS * N_HEADS} cells still show PCA" in m["title"]
    time.sleep(3)  # nothing takes the message away
    assert "Cancelled" in (page.alert_text() or "")


# Counts the matrix's draws from now on and asks Plotly to resize it; `resized` once it answered.
RESIZE_JS = """
const gd = graph('matrix-graph');
if (!window.__qkResize) {
  window.__qkResize = {draws: 0};
  gd.on('plotly_afterplot', () => { window.__qkResize.draws += 1; });
}
window.__qkResize.resized = false;
window.Plotly.Plots.resize(gd).then(() => { window.__qkResize.resized = true; });
"""


def test_a_resize_redraws_the_matrix_only_when_its_box_changed(page, minilm):
    """dcc.Graph's resize observer reports each graph once as it starts watching, and Plotly
    relays out and redraws a graph on every resize, to the same size or not: the whole matrix
    was drawn twice as the page loaded (assets/export.js skips a resize to the drawn size)."""
    page.open()
    page.wait_matrix_full(minilm)
    page.wait_job_done()
    drawn = page.js("return graph('matrix-graph')._fullLayout.width")
    page.js(RESIZE_JS)
    state = page.wait(
        lambda _: (r := page.js("return window.__qkResize"))["resized"] and r,
        "the resize to the drawn size",
    )
    assert state["draws"] == 0, "resized to the size it is drawn at: no redraw"
    narrower = round(drawn) - 120
    page.js(f"document.getElementById('matrix-graph').style.width = '{narrower}px'")
    page.js(RESIZE_JS)
    state = page.wait(
        lambda _: (r := page.js("return window.__qkResize"))["resized"] and r,
        "the resize to a narrower box",
    )
    assert state["draws"] >= 1
    assert abs(page.js("return graph('matrix-graph')._fullLayout.width") - narrower) <= 1


def test_opening_the_matrix_asks_for_its_figure_once_and_runs_no_other_view(page, minilm):
    """As the page loads with the matrix open, no callback of a hidden view runs (each was a
    request and an answer for dash-renderer to pass over every component, the matrix figure's
    among them), the matrix figure is asked for straight from the URL in the page's first round
    of callbacks (views/page_load.py), and sent once before the job's reports: the figure
    callback's own call for the request finds it shown (or patches in heads measured since).
    A warm matrix: opened once before."""
    page.open()
    page.wait_matrix_full(minilm)
    page.wait_job_done()
    script = page.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": CALLS_JS}
    )
    try:
        page.open()
        page.wait_matrix_full(minilm)
        page.wait_job_done()
        calls = page.wait(
            lambda _: (r := page.js("return window.__qkCalls"))["inflight"] == 0 and r["calls"],
            "the page's callbacks answered",
        )
    finally:
        page.driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )
    other_views = {
        (ids.HEAD_FIGURE, "data"),
        (ids.HEAD_SIMILAR, "children"),
        (ids.HEAD_FIDELITY, "children"),
        (ids.SENTENCE_GRAPH, "figure"),
        (ids.SIMILARITY_GRAPH, "figure"),
        (ids.COMPARE_A_GRAPH, "figure"),
    }
    assert not [call for call in calls if other_views & set(outputs(call["output"]))]
    reports = {f"{ids.JOB_PROGRESS}.data", f"{ids.METRICS}.data"}
    figure_calls = [
        call
        for call in calls
        if (ids.MATRIX_GRAPH, "figure") in outputs(call["output"])
        and not reports & set(call["changed"])
    ]
    first = figure_calls[0]["changed"]
    assert f"{ids.URL}.pathname" in first and f"{ids.REQUEST}.data" not in first, figure_calls
    figure = f"{ids.MATRIX_GRAPH}.figure"
    sent = [(call.get("sent") or {}).get(figure) for call in figure_calls]
    assert sent[0] == "value" and "value" not in sent[1:], figure_calls  # else nothing or a patch
