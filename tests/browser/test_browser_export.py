"""Export in a real browser: the mode bar saves PNG and SVG under the view's name, and the
head's CSV/npz buttons download its map."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from dashboard.export import file_stem
from dashboard.models.corpora import DEFAULT_CORPUS
from dashboard.models.registry import DEFAULT_MODEL

pytestmark = pytest.mark.browser

CONFIG_JS = """
const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
return gd && gd._context ? {
    filename: (gd._context.toImageButtonOptions || {}).filename || null,
    svg: !!gd.querySelector('.modebar-btn[data-title="Download plot as SVG"]'),
} : null;
"""
CLICK_JS = """
const b = document.querySelector('#' + arguments[0] + ' .modebar-btn[data-title="' + arguments[1] + '"]');
if (b) { b.dispatchEvent(new MouseEvent('click', {bubbles: true})); }
return !!b;
"""


def downloaded(page, folder: Path, name: str) -> Path:
    target = folder / name
    page.wait(  # Chrome writes NAME.crdownload, then renames it when complete
        lambda _: target.is_file() and target.stat().st_size > 0,
        f"{name} in the downloads (there: {sorted(p.name for p in folder.iterdir())})",
    )
    return target


def test_mode_bar_and_buttons_save_files_named_for_the_view(
    page, dash_br, minilm, default_tokens, screenshot_dir
):
    folder = Path(dash_br.download_path)
    page.driver.execute_cdp_cmd(  # headless Chromium saves downloads only when told where
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)}
    )
    page.open()
    page.wait_matrix_full(minilm)
    matrix = file_stem(DEFAULT_MODEL, DEFAULT_CORPUS, "pca")
    page.wait(
        lambda _: page.js(CONFIG_JS, "matrix-graph") == {"filename": matrix, "svg": True},
        f"the matrix's mode bar to save {matrix} as PNG and SVG",
    )

    page.open("?view=head&layer=2&head=5")
    n_points = 2 * default_tokens
    page.wait_head(lambda h: h["length"] == n_points, "the head figure")
    stem = file_stem(DEFAULT_MODEL, DEFAULT_CORPUS, "pca", 2, 5)
    page.wait(
        lambda _: page.js(CONFIG_JS, "head-graph") == {"filename": stem, "svg": True},
        f"the head's mode bar to save {stem}",
    )
    page.screenshot(screenshot_dir / "export-head.png")

    page.driver.find_element("id", "export-head-csv").click()
    rows = list(csv.DictReader(io.StringIO(downloaded(page, folder, f"{stem}.csv").read_text())))
    assert len(rows) == n_points and {r["role"] for r in rows} == {"query", "key"}
    page.driver.find_element("id", "export-head-npz").click()
    with np.load(downloaded(page, folder, f"{stem}.npz"), allow_pickle=False) as npz:
        assert npz["coords"].shape == (n_points, 2)
        x = np.array([float(r["x"]) for r in rows], dtype=np.float32)
        np.testing.assert_array_equal(npz["coords"][:, 0], x)  # the same map in both files

    # the mode bar last: Plotly's "Taking snapshot" note covers the buttons for a while
    assert page.js(CLICK_JS, "head-graph", "Download plot as SVG")
    svg = downloaded(page, folder, f"{stem}.svg").read_text()
    assert svg.startswith("<svg") and "Layer 2 · head 5" in svg
    assert page.js(CLICK_JS, "head-graph", "Download plot as a PNG")
    assert downloaded(page, folder, f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
