"""The user's own sentences: paste, map, and an empty submission that changes nothing."""

from __future__ import annotations

import pytest

from dashboard.security import upload_cap

pytestmark = pytest.mark.browser

SENTENCES = ["The cat sat on the warm mat.", "A small dog chased the cat across the garden."]


def typed_value(page) -> str:
    return page.driver.execute_script("return document.getElementById('data-text').value;")


def test_pasted_sentences_become_the_corpus(page, minilm, count_tokens, cell_points):
    from selenium.webdriver.common.keys import Keys

    n_tokens = count_tokens(SENTENCES)
    page.open()
    assert cell_points(n_tokens, page, minilm) == 2 * n_tokens, "a small corpus is drawn whole"
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


def test_an_upload_asks_before_replacing_typed_text_and_the_picker_fits_the_corpus(page, tmp_path):
    """Issue 13: a CSV upload silently replaced the text typed in the box; "mapping it now"
    stayed after the job; the sentence picker could point past a smaller corpus."""
    from selenium.webdriver.common.keys import Keys

    rows = ["The cat sat.", "Stocks fell sharply.", "The dog ran home."]
    first, second = tmp_path / "first.csv", tmp_path / "animals.csv"
    first.write_text("text,label\nOne line.,a\nTwo lines.,b\n")
    second.write_text("text,label\n" + "".join(f"{r},{i % 2}\n" for i, r in enumerate(rows)))
    page.open("?view=sentence&layer=0&head=0&sentence=7")  # sentence 7 of the default corpus
    page.wait_sentence(lambda s: s["title"].startswith("Sentence 7 of"), "sentence 7", 240)
    page.driver.find_element("css selector", "details.data-panel > summary").click()
    box = page.driver.find_element("id", "data-text")
    page.wait(lambda _: box.is_displayed(), "the sentence box to open")
    box.send_keys("My own sentence.", Keys.ENTER, "Another one.")
    typed = typed_value(page)
    upload = page.driver.find_element("css selector", "#data-upload input[type=file]")

    def confirm_text(_):
        return not page.hidden("data-confirm") and page.text("data-confirm-text")

    upload.send_keys(str(first))
    question = page.wait(confirm_text, "the question before replacing the typed text")
    assert question == "Replace the text in the box with first.csv’s 2 sentences?"
    assert typed_value(page) == typed
    page.driver.find_element("id", "data-keep").click()
    page.wait(lambda _: page.hidden("data-confirm"), "the question to go")
    assert "Kept your text" in page.text("data-message") and typed_value(page) == typed
    assert not page.query().get("corpus", "").startswith("user-")

    upload.send_keys(str(second))
    assert page.wait(confirm_text, "the question again").startswith(
        "Replace the text in the box with animals.csv’s 3 sentences?"
    )
    page.driver.find_element("id", "data-replace").click()
    page.wait(lambda _: typed_value(page) == "\n".join(rows), "the file's text in the box")
    corpus = page.wait(
        lambda _: page.query().get("corpus", "").startswith("user-") and page.query()["corpus"],
        "the URL to name the uploaded corpus",
    )
    page.wait(
        lambda _: "mapped: every head is drawn" in (page.text("data-message") or ""),
        lambda: f"“mapping it now” to end; it says {page.text('data-message')!r}",
        timeout=page.DECODER_TIMEOUT,
    )
    assert "mapping it now" not in page.text("data-message")

    def on_the_last_sentence():
        page.wait_query(sentence="2")
        page.wait_sentence(lambda s: s["title"].startswith("Sentence 2 of 3"), "sentence 2 of 3")
        pick = page.driver.find_element("id", "sentence-pick")
        assert pick.get_attribute("value") == "2" and pick.get_attribute("max") == "2"

    # the new corpus has 3 sentences: the picker, the URL and the title agree on the last
    on_the_last_sentence()
    # and so does a link to its sentence 7
    page.open(f"?corpus={corpus}&view=sentence&layer=0&head=0&sentence=7")
    on_the_last_sentence()


def test_a_refused_upload_keeps_the_typed_text(page, tmp_path, screenshot_dir, server_settings):
    """Issue 9 (bad input, tests/app/test_bad_input.py has the whole table): a binary file
    named .txt and an SVG named .png are each answered with one sentence in the data panel,
    and the text typed in the box stays; a link with parts that cannot be used says so."""
    from selenium.webdriver.common.keys import Keys

    page.open("?layer=abc&dims=7")
    page.wait(lambda _: not page.hidden("app-url-note"), "the note on the link's bad parts")
    assert "layer=abc, dims=7 could not be used" in page.text("app-url-note")

    binary, svg = tmp_path / "photo.txt", tmp_path / "drawing.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    svg.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"></svg>')
    page.driver.find_element("css selector", "details.data-panel > summary").click()
    box = page.driver.find_element("id", "data-text")
    page.wait(lambda _: box.is_displayed(), "the sentence box to open")
    box.send_keys("Words I typed myself.", Keys.ENTER, "And would hate to lose.")
    typed = typed_value(page)

    page.driver.find_element("css selector", "#data-upload input[type=file]").send_keys(str(binary))
    page.wait(
        lambda _: "photo.txt is binary, not text" in (page.text("data-message") or ""),
        "the sentence that refuses the binary file",
    )
    assert typed_value(page) == typed and page.hidden("data-confirm")

    page.driver.find_element("css selector", "#data-images input[type=file]").send_keys(str(svg))
    page.wait(
        lambda _: "drawing.png is not a readable PNG or JPEG image" in page.text("data-message"),
        "the sentence that refuses the SVG",
    )
    assert typed_value(page) == typed

    # a file so large that the server refuses the request itself (413), before any callback
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"A sentence.\n" * (upload_cap(server_settings) // 12 + 1))
    page.driver.find_element("css selector", "#data-upload input[type=file]").send_keys(str(huge))
    page.wait(
        lambda _: "The upload is too large" in page.text("data-message"),
        "the sentence that refuses a request over the server's cap",
    )
    assert "QKATLAS_MAX_UPLOAD_BYTES" in page.text("data-message")
    assert typed_value(page) == typed
    assert not page.query().get("corpus", "").startswith("user-"), "no corpus was added"
    page.screenshot(screenshot_dir / "refused-upload.png")
