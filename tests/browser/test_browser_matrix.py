"""The matrix view on the default model, and a bad model in the URL."""

from __future__ import annotations

import pytest

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
    # a cell draws each sampled token's query and key: all of them up to the matrix's cap
    assert n_points == cell_points(default_tokens), (n_points, default_tokens)
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
