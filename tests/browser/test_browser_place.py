"""Dropping a sentence into the open head's map in a real browser (the default MiniLM, PCA)."""

from __future__ import annotations

import pytest

from dashboard.figures.single import PLACED

pytestmark = pytest.mark.browser

PLACED_JS = """
const gd = document.querySelector('#head-graph .js-plotly-plot');
const t = gd && gd.data && gd.data[arguments[0]];
return t ? {n: t.text.length, first: t.text[0]} : null;
"""


SENTENCE = "The cat sat on the mat."


def test_a_dropped_sentence_is_placed_and_its_links_open(
    page, default_tokens, word_pieces, screenshot_dir
):
    page.open("?view=head&layer=1&head=6")
    page.wait_head(lambda h: h["length"] == 2 * default_tokens, "the head figure")
    field = page.driver.find_element("id", "place-text")
    field.send_keys(SENTENCE)
    page.driver.find_element("id", "place-submit").click()
    n_tokens = len(word_pieces(SENTENCE))  # with [CLS] and [SEP]
    placed = page.wait(
        lambda _: page.js(PLACED_JS, PLACED), "the placed points over the map", timeout=120
    )
    assert placed["n"] == 2 * n_tokens
    assert placed["first"].startswith("placed, not fitted · query · <b>[CLS]</b>")
    assert "not refitted" in page.text("place-note")
    page.wait(lambda _: not page.hidden("place-show-sentence"), "the sentence button")
    page.driver.find_element("id", "place-show-sentence").click()
    page.wait(lambda _: not page.hidden("place-sentence-graph"), "the placed sentence's links")
    page.screenshot(screenshot_dir / "place-head.png")
