"""The user's own sentences: paste, map, and an empty submission that changes nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

SENTENCES = ["The cat sat on the warm mat.", "A small dog chased the cat across the garden."]


def typed_value(page) -> str:
    return page.driver.execute_script("return document.getElementById('data-text').value;")


def test_pasted_sentences_become_the_corpus(page, minilm, count_tokens, cell_points):
    from selenium.webdriver.common.keys import Keys

    n_tokens = count_tokens(SENTENCES)
    assert cell_points(n_tokens) == 2 * n_tokens, "a small corpus is drawn whole in the matrix"
    page.open()
    default = page.wait_matrix_full(minilm)

    page.driver.find_element("css selector", "details.data-panel > summary").click()
    box = page.driver.find_element("id", "data-text")
    page.wait(lambda _: box.is_displayed(), "the sentence box to open")
    box.send_keys(SENTENCES[0], Keys.ENTER, SENTENCES[1])
    assert typed_value(page) == "\n".join(SENTENCES)
    page.driver.find_element("id", "data-submit").click()

    page.wait(
        lambda _: "Your sentences (2 sentences)" in (page.text("ctl-corpus") or ""),
        "the corpus dropdown to show the new corpus",
    )
    assert "Added “Your sentences (2 sentences)”" in page.text("data-message")
    corpus = page.wait(
        lambda _: page.query().get("corpus", "").startswith("user-") and page.query()["corpus"],
        "the URL to name the user corpus",
    )

    m = page.wait_matrix_full(minilm, other_than=default["n_points"])
    assert m["n_points"] == 2 * n_tokens, f"{n_tokens} tokens → {2 * n_tokens} points per head"
    per_layer = minilm.n_heads * 2 * n_tokens
    assert len(m["traces"]) == minilm.n_layers
    assert all(t["length"] == per_layer for t in m["traces"])
    assert "Your sentences (2 sentences)" in m["title"]
    assert page.hidden("app-alert"), page.text("app-alert")

    # an empty submission: a message, and the corpus and its matrix stay
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    page.wait(lambda _: typed_value(page) == "", "the sentence box to be empty")
    page.driver.find_element("id", "data-submit").click()
    page.wait(
        lambda _: "The text is empty" in (page.text("data-message") or ""), "the empty-text message"
    )
    assert "Your sentences (2 sentences)" in page.text("ctl-corpus")
    assert page.query()["corpus"] == corpus
    after = page.matrix()
    assert len(after["traces"]) == minilm.n_layers
    assert all(t["length"] == per_layer for t in after["traces"])
    assert page.hidden("app-alert"), page.text("app-alert")
