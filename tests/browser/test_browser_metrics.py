"""Head metrics in the browser: the single-head view's fidelity badge shows the numbers the
workers cached, and the matrix colours, sorts and dims its cells by them (screenshots)."""

from __future__ import annotations

import pytest

from tests.browser.test_browser_screenshots import fit_window, open_head_full_height, shoot

pytestmark = pytest.mark.browser

LAYER, HEAD = 1, 6


def _cached(server_settings, layer: int, head: int) -> dict:
    """The metrics the server's workers stored for the default request's PCA map."""
    from dashboard.cache_keys import MapParams
    from dashboard.catalog import Catalog
    from dashboard.models.registry import discover
    from dashboard.store import Store

    svc = Catalog(
        server_settings,
        discover(server_settings.model_dirs, server_settings.cache_dir),
        Store(server_settings.cache_dir),
    )
    subject, _ = svc.subject("minilm", "default", check=False)
    meta = svc.store.load_meta(subject.metrics_key(layer, head, MapParams()))
    assert meta is not None, "the badge showed numbers the cache does not hold"
    return meta["metrics"]


def _shown(page) -> dict[str, str]:
    return page.js(
        "return Object.fromEntries(Array.from(document.querySelectorAll("
        "'#head-fidelity [data-metric]')).map(e => [e.dataset.metric, e.innerText]));"
    )


def test_badge_shows_the_cached_numbers(page, minilm, server_settings, screenshot_dir):
    page.driver.set_script_timeout(10)
    page.open()
    page.wait_matrix_full(minilm)
    page.wait_job_done()  # then the workers measure every map, and the badge follows
    open_head_full_height(
        page, f"?view=head&layer={LAYER}&head={HEAD}", lambda h: h["length"] > 0, "the head"
    )
    page.wait(
        lambda _: "rho_map" in (_shown(page) or {}), "the fidelity badge", page.MATRIX_TIMEOUT
    )
    cached = _cached(server_settings, LAYER, HEAD)
    shown = _shown(page)
    names = ("rho_map", "rho_full", "rho_random", "trustworthiness", "topk_recall", "entropy")
    for name in names:
        assert shown[name] == f"{cached[name]:.2f}", name
    assert "random projection" in page.text("head-fidelity")
    fit_window(page)
    shoot(page, screenshot_dir, "head-fidelity.png")


def test_matrix_coloured_and_sorted_by_a_metric(page, minilm, screenshot_dir):
    page.driver.set_script_timeout(10)
    page.open()
    page.wait_matrix_full(minilm)
    page.wait_job_done()
    page.choose("matrix-metric", "ρ map")
    page.driver.find_element("css selector", "#matrix-sort input").click()
    page.driver.find_element("css selector", "#matrix-dim input").click()
    cells = page.wait(
        lambda _: page.js(
            "const g = document.getElementById('matrix-graph');"
            "const d = g && g.querySelector('.js-plotly-plot');"
            "const t = d && d.data && d.data.find(t => t.type === 'heatmap');"
            "return t && t.showscale && d.data[d.data.length - 1].name === 'heads' && "
            "t.z.every(row => row.every(v => v !== null)) ? "
            "{z: t.z, title: t.colorbar.title.text, n: d.data.length} : null;"
        ),
        "every cell coloured by ρ map (all heads measured) and sorted",
        page.MATRIX_TIMEOUT,
    )
    assert cells["title"] == "ρ map"
    for row in cells["z"]:  # each layer's heads from the most faithful map to the least
        assert row == sorted(row, reverse=True)
    fit_window(page)
    shoot(page, screenshot_dir, "matrix-metric.png")
