"""The sentence view, the image view, token search, attention links in the head view, and
escaping of the user's text, each driven through the page as a user would."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.keys import Keys

pytestmark = pytest.mark.browser

FADED = "0.060)"  # the alpha of the links a hovered token does not take part in
LINKS = re.compile(r"([\d,]+) links ≥ 0\.01 drawn")


def labels_of(s: dict, side: str) -> list[str]:
    return next(t["text"] for t in s["traces"] if t["name"] == side)


def line_traces(s: dict) -> list[dict]:
    return [t for t in s["traces"] if t["mode"] == "lines"]


def drawn_links(s: dict) -> int:
    return sum(t["segments"] for t in line_traces(s))


# --------------------------------------------------------------------------- sentence view


def test_sentence_view_links_hover_and_options(page, default_sentences, word_pieces):
    pieces = word_pieces(default_sentences[4])  # [CLS] … [SEP], as the model reads it
    page.open("?view=sentence&layer=2&head=3&sentence=4")
    page.wait(lambda _: not page.hidden("sentence-section"), "the sentence section to show")
    assert page.hidden("matrix-section") and page.hidden("head-section")
    s = page.wait_sentence(lambda s: len(line_traces(s)) > 0, "the sentence's links")

    # two label traces, queries and keys, one label per token of sentence 4
    markers = [t for t in s["traces"] if t["mode"] == "markers+text"]
    assert [t["name"] for t in markers] == ["query", "key"]
    assert labels_of(s, "query") == labels_of(s, "key") == pieces
    assert all(t["length"] == len(pieces) for t in markers)
    assert s["title"].startswith(f"Sentence 4 of {len(default_sentences)} · head 3 of layer 2")

    # the note counts exactly the links drawn (one None-separated segment per link)
    note = page.text("sentence-note")
    assert note.startswith(f"{len(pieces)} tokens, ")
    n_links = int(LINKS.search(note)[1].replace(",", ""))
    assert drawn_links(s) == n_links
    assert len(pieces) <= n_links <= len(pieces) ** 2, "each query has a link of weight ≥ 1/n"
    assert not any(t["color"].endswith(FADED) for t in line_traces(s)), "nothing faded yet"
    page.wait_job_done()  # a settled page (progress during a job: test_image_click_while_…)

    # a real hover on a query's marker fades every link but its own
    label = page.hover_sentence_token("query", 5)
    assert label.startswith(f"query · {pieces[5]} · position 5"), label
    faded = page.wait_sentence(
        lambda s: any(t["color"].endswith(FADED) for t in line_traces(s)),
        "the other links to fade after hovering query 5",
    )
    page.wait(  # the redraw dropped Plotly's label: assets/hover.js puts it back
        lambda d: (
            d.execute_script(
                "const e = document.querySelector('#sentence-graph .hoverlayer .hovertext');"
                "return e && e.textContent;"
            )
            == label
        ),
        "the hover label still on query 5 after the links were redrawn",
    )
    dim = [t for t in line_traces(faded) if t["color"].endswith(FADED)]
    assert len(dim) == 1
    strong = drawn_links(faded) - dim[0]["segments"]
    assert drawn_links(faded) == n_links, "the same links, split into faded and highlighted"
    assert 1 <= strong <= len(pieces), "only query 5's own links stay strong"

    # hide_first=1 drops the [CLS] row and renormalises
    page.open("?view=sentence&layer=2&head=3&sentence=4&hide_first=1")
    hidden = page.wait_sentence(
        lambda s: labels_of(s, "query")[0] != "[CLS]", "a sentence figure without [CLS]"
    )
    assert labels_of(hidden, "query") == pieces[1:]
    assert page.radio("sentence-hide-first", "hide").is_selected()
    assert page.text("sentence-note").startswith(f"{len(pieces) - 1} tokens, ")

    # the mean of the layer's heads
    page.open("?view=sentence&layer=2&head=3&sentence=4&scope=layer")
    mean = page.wait_sentence(lambda s: "mean of layer 2" in s["title"], "the layer-mean title")
    assert mean["title"].startswith(
        f"Sentence 4 of {len(default_sentences)} · mean of layer 2's heads"
    )
    assert page.radio("sentence-scope", "layer").is_selected()
    assert drawn_links(mean) != n_links, "a mean of the layer's heads draws other links than head 3"
    assert page.hidden("app-alert"), page.text("app-alert")


def test_sentence_controls_redraw_the_figure(page, default_sentences):
    page.open("?view=sentence&layer=2&head=3&sentence=4")
    page.wait_sentence(lambda s: labels_of(s, "query")[0] == "[CLS]", "the sentence with [CLS]")

    page.driver.find_element("css selector", "#sentence-hide-first input").click()
    page.wait_query(hide_first="1")  # this part works
    page.wait_sentence(
        lambda s: labels_of(s, "query")[0] != "[CLS]",
        "the checkbox to remove the [CLS] row",
        timeout=5,
    )
    page.radio("sentence-scope", "layer").click()
    page.wait_query(scope="layer")
    page.wait_sentence(
        lambda s: "mean of layer 2" in s["title"], "the scope radio to change the title", 5
    )
    from selenium.webdriver.common.keys import Keys

    pick = page.driver.find_element("id", "sentence-pick")
    pick.send_keys(Keys.CONTROL, "a")
    pick.send_keys("5", Keys.ENTER)
    page.wait_query(sentence="5")
    page.wait_sentence(
        lambda s: s["title"].startswith(f"Sentence 5 of {len(default_sentences)}"),
        "the number box to open sentence 5",
        5,
    )


# --------------------------------------------------------------------------- image view


def test_image_view_overlay_and_patch_click(page, vit_grid):
    side = vit_grid
    page.open("?model=dinov2-s14&corpus=images&view=sentence&layer=11&head=2&sentence=1")
    s = page.wait_sentence(
        lambda s: s["traces"][0]["type"] == "heatmap", "the image with its overlay", timeout=90
    )
    assert len(s["traces"]) == 1
    heat = s["traces"][0]
    assert heat["zshape"] == [side, side] and heat["length"] == heat["ylength"] == side
    assert s["images"] == 1 and s["imageSource"].startswith("data:image/png;base64,")
    assert s["shapes"] == [], "[CLS] is the query: no patch outlined"
    assert "attention from [CLS] · head 2 of layer 11" in s["title"]
    assert "patch" not in page.query()

    page.wait_job_done()  # a settled page (progress during a job: the next test)
    row, col = 5, 9
    page.click_image_cell(row, col)
    page.wait_query(patch=str(1 + row * side + col), sentence="1", layer="11", head="2")
    picked = page.wait_sentence(
        lambda s: s["shapes"] and "attention from r5 c9" in s["title"],
        "the clicked cell outlined and its attention shown",
    )
    outline = picked["shapes"][0]
    assert (outline["x0"], outline["x1"]) == (col - 0.5, col + 0.5)
    assert (outline["y0"], outline["y1"]) == (row - 0.5, row + 0.5)
    assert picked["traces"][0]["z"] != heat["z"], "a patch attends elsewhere than [CLS]"
    assert page.text("sentence-note").startswith("Overlay: how much r5 c9 (as a query)")
    assert page.hidden("app-alert"), page.text("app-alert")


def test_image_click_while_a_job_reports_progress(page, vit_grid):
    page.open("?model=dinov2-s14&corpus=images&view=sentence&layer=11&head=2&sentence=1")
    page.wait_sentence(lambda s: s["traces"][0]["type"] == "heatmap", "the image", timeout=90)
    page.wait_job_done()
    page.start_job_ticks()  # what a running job does (every 0.7 s; here denser, for a sure hit)
    page.click_image_cell(5, 9)
    page.wait_query(patch=str(1 + 5 * vit_grid + 9))
    page.wait_sentence(
        lambda s: s["shapes"] and "attention from r5 c9" in s["title"],
        "the clicked cell outlined although a job reported progress meanwhile",
        timeout=5,
    )


def test_image_map_beside_the_image_outlines_the_hovered_patch(page):
    page.open("?model=dinov2-s14&corpus=images&view=sentence&layer=11&head=2&sentence=1")
    page.wait_sentence(lambda s: s["traces"][0]["type"] == "heatmap", "the image", timeout=90)
    page.wait_job_done()
    m = page.wait(
        lambda _: (lambda m: m if not m["hidden"] and m["length"] else False)(page.image_map()),
        "the head's map of this image beside it",
    )
    assert m["length"] == 2 * 257, "the image's [CLS] and 16×16 patches, as queries and keys"
    assert all("<br>image 1: " in t for t in m["text"]), "only image 1's tokens"
    assert sum(t.startswith("query · ") for t in m["text"]) == 257

    # a real hover on a patch's point outlines that patch in white on the image: the patch key
    # farthest from the other points (a hover on a crowded one may go to its neighbour)
    patches = {
        i: tuple(int(v) for v in re.match(r"key · <b>r(\d+) c(\d+)</b>", t).groups())
        for i, t in enumerate(m["text"])
        if re.match(r"key · <b>r\d+ c\d+</b>", t)
    }
    assert len(patches) == 256, "every patch's key (16 × 16)"
    index, _ = page.isolated_point("image-map", patches)
    row, col = patches[index]
    label = page.hover_graph_point("image-map", index)
    assert label.startswith(f"key · r{row} c{col} · token {1 + 16 * row + col} of 257"), label
    s = page.wait_sentence(
        lambda s: any(shape["line"]["color"] == "#ffffff" for shape in s["shapes"]),
        "a white outline for the hovered patch",
    )
    (shape,) = [x for x in s["shapes"] if x["line"]["color"] == "#ffffff"]
    assert (shape["x0"], shape["y0"]) == (col - 0.5, row - 0.5), shape


def test_image_map_appears_when_its_map_is_computed(page):
    # scale=0: maps no other test asks for, so they do not exist yet when the view opens
    page.open("?model=dinov2-s14&corpus=images&scale=0&view=sentence&layer=11&head=2&sentence=1")
    page.wait_sentence(lambda s: s["traces"][0]["type"] == "heatmap", "the image", timeout=90)
    page.wait_job_done()
    page.wait(
        lambda _: (lambda m: not m["hidden"] and m["length"] == 2 * 257)(page.image_map()),
        "the head's map beside the image once the job has computed it",
        timeout=6,
    )


# --------------------------------------------------------------------------- search


def test_search_highlights_tokens_in_every_head(page, minilm, default_sentences):
    n_layers, n_heads, n = minilm.n_layers, minilm.n_heads, len(default_sentences)
    page.open()
    plain = page.wait_matrix_full(minilm)

    page.search("cls")
    page.wait_query(search="cls")
    page.wait(lambda _: f"{n} tokens" in (page.text("search-info") or ""), f"{n} [CLS] hits")
    assert f"{n} queries and {n} keys" in page.text("search-info")
    assert "[CLS]" in page.text("search-info")

    def hits(n_tokens: int):
        def ready(_):
            m = page.matrix(n_heads)
            if not m or len(m["traces"]) != 2 * n_layers:
                return False
            maps, found = m["traces"][:n_layers], m["traces"][n_layers:]
            if all(t["length"] == n_heads * 2 * n_tokens for t in found):
                return maps, found
            return False

        return page.wait(ready, f"{n_layers} hit traces of {n_heads} × 2 × {n_tokens} points")

    maps, found = hits(n)
    assert all(sum(t["filled"]) == t["length"] for t in maps + found), "no NaN in any head"
    assert all(t["type"] == "scattergl" for t in found)
    assert all(t["length"] >= plain["traces"][0]["length"] for t in maps)

    # a regular expression: every [CLS] and [SEP]
    page.driver.find_element("css selector", "#search-options input[value='regex']").click()
    page.search("^\\[")
    page.wait_query(search="^\\[", regex="1")
    page.wait(lambda _: f"{2 * n} tokens" in (page.text("search-info") or ""), f"{2 * n} hits")
    assert "[SEP]" in page.text("search-info")
    hits(2 * n)

    # an invalid one: a message, and the hits are gone
    page.search("(")
    page.wait(
        lambda _: "Not a valid regular expression" in (page.text("search-info") or ""),
        "the invalid-regex message",
    )
    page.wait(lambda _: len(page.matrix()["traces"]) == n_layers, "the matrix without hit traces")
    assert page.hidden("app-alert"), page.text("app-alert")


def test_search_runs_as_you_type_without_enter(page, minilm, default_sentences, word_pieces):
    """Issue 13: nothing happened until Enter, and nothing said so."""
    page.open()
    page.wait_matrix_full(minilm)
    box = page.driver.find_element("id", "search-text")
    box.send_keys("the")  # no Enter
    page.wait_query(search="the")
    page.wait(lambda _: "tokens" in (page.text("search-info") or ""), "the summary, no Enter")
    part = int(page.text("search-info").split(" tokens")[0].replace(",", ""))
    page.wait(
        lambda _: len(page.matrix()["traces"]) == 2 * minilm.n_layers, "the hit traces, no Enter"
    )

    # whole tokens: "the" but not "there", "other", "theatre"…
    page.driver.find_element("css selector", "#search-options input[value='whole']").click()
    page.wait_query(search="the", whole="1")
    pieces = [p.removeprefix("##").lower() for s in default_sentences for p in word_pieces(s)]
    expected = f"{pieces.count('the'):,} tokens match “the” as a whole token"
    page.wait(lambda _: expected in (page.text("search-info") or ""), expected)
    assert pieces.count("the") < part

    # MiniLM lowercases: a capital letter (the old placeholder's ^[A-Z]) says so
    assert "^[A-Z]" not in box.get_attribute("placeholder")
    box.send_keys(Keys.BACKSPACE * 3, "The")
    page.wait(
        lambda _: "tokenizer lowercases" in (page.text("search-info") or ""),
        "the note that the tokenizer lowercases",
    )
    assert page.hidden("app-alert"), page.text("app-alert")


# --------------------------------------------------------------------------- links


def test_click_on_a_query_draws_its_strongest_links(page):
    page.open("?view=head&layer=2&head=5")
    h = page.wait_head()
    page.wait_job_done()
    index, _ = page.isolated_head_point(range(0, len(h["text"]), 2))  # even index: a query
    text = h["text"][index]
    token = re.match(r"query · <b>(.*?)</b> · position (\d+) of", text)
    assert token, text

    page.click_head_point(index)
    # the pinned point's panel (the mouse leaving the plot may hover other points on its way)
    page.wait(
        lambda _: (
            "attends most to" in (page.text("head-panel") or "")
            and "pinned" in page.text("head-panel")
        ),
        "the pinned point's links panel",
    )
    panel = page.text("head-panel")
    assert panel.startswith(f"Query “{token[1]}” attends most to"), (panel, text)
    assert f"position {token[2]}" in panel
    rows = page.driver.execute_script(
        "return Array.from(document.querySelectorAll('#head-panel li')).map(e => e.innerText);"
    )
    assert 1 <= len(rows) <= 2, rows  # top 2 by default, weight ≥ 0.05
    parsed = [re.fullmatch(r"(.+) \(pos (\d+)\) (\d\.\d\d)", r) for r in rows]
    assert all(parsed), rows
    weights = [float(p[3]) for p in parsed]
    assert weights == sorted(weights, reverse=True) and all(0.05 <= w <= 1 for w in weights)

    lines = page.wait(
        lambda _: (lambda ls: ls if sum(len(x) == 2 for x, _ in ls) == len(rows) else False)(
            page.head_lines()
        ),
        f"{len(rows)} link lines in traces 1-5",
    )
    xs, ys = page.head_xy()
    for (lx, ly), (label, pos, _) in zip(lines, (p.groups() for p in parsed), strict=False):
        # each line starts at the clicked query and ends at the key the panel names
        assert lx[0] == pytest.approx(xs[index], abs=1e-4)
        assert ly[0] == pytest.approx(ys[index], abs=1e-4)
        ends = [
            i
            for i in range(1, len(xs), 2)
            if abs(xs[i] - lx[1]) < 1e-4 and abs(ys[i] - ly[1]) < 1e-4
        ]
        assert ends, "the line ends on a key of the map"
        assert any(
            h["text"][i].startswith(f"key · <b>{label}</b> · position {pos} of") for i in ends
        ), (label, pos, [h["text"][i][:60] for i in ends])
    assert all(len(x) == 0 for x, _ in lines[len(rows) :]), "unused line slots stay empty"


PINNED_JS = r"""
const gd = graph('head-graph'), t = gd && gd.data && gd.data[7];
return t ? [Array.from(arr(t.x) || []), Array.from(arr(t.y) || [])] : null;
"""


def test_pinned_point_is_marked_linked_and_reset_by_another_head(page):
    page.open("?view=head&layer=2&head=5")
    h = page.wait_head()
    page.wait_job_done()
    index, _ = page.isolated_head_point(range(0, len(h["text"]), 2))  # a query
    token = re.match(r"query · <b>(.*?)</b> · position (\d+) of", h["text"][index])
    page.click_head_point(index)
    point = page.wait(lambda _: page.query().get("point"), "the pinned point in the URL")
    xs, ys = page.head_xy()
    ring = page.wait(
        lambda _: (lambda r: r if r and len(r[0]) == 1 else False)(page.js(PINNED_JS)),
        "a ring on the pinned point",
    )
    assert ring[0][0] == pytest.approx(xs[index], abs=1e-4)
    assert ring[1][0] == pytest.approx(ys[index], abs=1e-4)
    panel = page.wait(
        lambda _: "pinned" in (page.text("head-panel") or "") and page.text("head-panel"),
        "the pinned panel",
    )
    assert panel.startswith(f"Query “{token[1]}” attends most to"), panel

    # the link restores it: a fresh page with point= marks it and lists its links
    page.open(f"?view=head&layer=2&head=5&point={point}")
    page.wait_head()
    page.wait(
        lambda _: (lambda r: r and len(r[0]) == 1)(page.js(PINNED_JS)), "the ring from the link"
    )
    page.wait(
        lambda _: (page.text("head-panel") or "").startswith(f"Query “{token[1]}”"),
        "the pinned token's links from the link",
    )

    # another head opens in the page (as a dcc.Link would): nothing of head 5 is left
    page.driver.execute_script(
        "window.history.pushState({}, '', arguments[0]);"
        "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));",
        "?view=head&layer=1&head=3",
    )
    page.wait_query(view="head", layer="1", head="3")
    page.wait(lambda _: page.text("head-title") == "Layer 1 · head 3", "the new head")
    assert "point" not in page.query()
    page.wait(
        lambda _: (page.text("head-panel") or "").startswith("Hover or click a point"),
        "the links panel reset for the new head",
    )
    page.wait(lambda _: page.js(PINNED_JS) == [[], []], "no ring on the new head")
    assert all(len(x) == 0 for x, _ in page.head_lines()), "no lines of the old head"


# --------------------------------------------------------------------------- escaping

HOSTILE = [
    "Watch out: <script>alert(1)</script> &amp; <b>bold</b> are not markup here.",
    'An image <img src=x onerror="alert(2)"> and a link <a href="javascript:alert(3)">x</a>.',
]
ALLOWED_TAGS = re.compile(r"</?b>|<br>")


def test_user_text_is_escaped_in_hover_and_labels(page, minilm):
    from selenium.common.exceptions import NoAlertPresentException

    page.open()
    default = page.wait_matrix_full(minilm)
    corpus = page.paste_sentences(HOSTILE)
    page.wait_matrix_full(minilm, other_than=default["n_points"])  # the new corpus is mapped

    page.open(f"?corpus={corpus}&view=head&layer=1&head=2")
    h = page.wait_head()
    texts = h["text"]
    assert any("&lt;" in t for t in texts) and any("&gt;" in t for t in texts)
    assert any("&amp;" in t for t in texts)
    assert not any("<script" in t.lower() or "<img" in t.lower() for t in texts)
    leftovers = [t for t in texts if "<" in ALLOWED_TAGS.sub("", t)]
    assert leftovers == [], leftovers[:3]

    # hover the "<" token: the label shows the character, the plot holds no injected element
    index, _ = page.isolated_head_point(
        [i for i, t in enumerate(texts) if t.startswith("query · <b>&lt;</b>")], min_gap=3
    )
    label = page.hover_head_point(index)
    assert label.startswith("query · < · position"), label
    assert "script >" in label and label.count("<") >= 2, label  # the context, as characters
    assert "&lt;" not in label and "&gt;" not in label, "escaped once, not twice"
    injected = page.driver.execute_script(
        "return document.querySelectorAll("
        "'#head-graph script, #head-graph img, #head-graph a[href^=\"javascript\"]').length;"
    )
    assert injected == 0

    # the sentence view: token labels and the sentence in the title, as text
    page.open(f"?corpus={corpus}&view=sentence&layer=1&head=2&sentence=0")
    s = page.wait_sentence(lambda s: len(line_traces(s)) > 0, "the sentence view")
    labels = labels_of(s, "query")
    assert "&lt;" in labels and "script" in labels, labels  # escaped in the figure …
    assert not any("<" in label for label in labels), labels
    shown = page.driver.execute_script(
        "return Array.from(document.querySelectorAll('#sentence-graph .textpoint'))"
        ".map(e => e.textContent);"
    )
    assert "<" in shown and ">" in shown and "&" in shown, shown  # … and shown as characters
    title = page.driver.execute_script(
        "return document.querySelector('#sentence-graph .gtitle').textContent;"
    )
    assert "< script > alert" in title, title
    assert (
        page.driver.execute_script(
            "return document.querySelectorAll('#sentence-graph script, #sentence-graph img').length;"
        )
        == 0
    )
    with pytest.raises(NoAlertPresentException):
        page.driver.switch_to.alert  # noqa: B018 (the property raises when no dialog is open)
    assert page.hidden("app-alert"), page.text("app-alert")


def test_vision_head_speaks_of_images_and_hide_first_works_on_the_image(page):
    page.open("?model=dinov2-s14&corpus=images&view=head&layer=11&head=2")
    h = page.wait_head(timeout=page.DECODER_TIMEOUT)
    page.wait(lambda _: page.text("head-to-sentence") == "Image view →", "the image view button")
    page.wait_job_done(page.DECODER_TIMEOUT)
    index, _ = page.isolated_head_point(range(0, min(len(h["text"]), 800), 2))
    page.click_head_point(index)
    panel = page.wait(
        lambda _: (lambda t: t if "pinned" in t else False)(page.text("head-panel") or ""),
        "the pinned token's panel",
    )
    assert "image " in panel and "sentence" not in panel, panel

    # "hide the first token" on an image: [CLS] leaves the keys, the overlay is renormalised
    page.open("?model=dinov2-s14&corpus=images&view=sentence&layer=11&head=2&sentence=1")
    page.wait(lambda _: "[CLS]/registers" in (page.text("sentence-note") or ""), "the overlay")
    shown = page.wait_sentence(lambda s: s["traces"][0]["type"] == "heatmap", "the image")
    page.open(
        "?model=dinov2-s14&corpus=images&view=sentence&layer=11&head=2&sentence=1&hide_first=1"
    )
    page.wait(
        lambda _: "First token [CLS] hidden" in (page.text("sentence-note") or ""),
        "the note naming the hidden [CLS]",
    )
    hidden = page.wait_sentence(lambda s: s["traces"][0]["type"] == "heatmap", "the image")
    total = sum(map(sum, shown["traces"][0]["z"]))
    assert sum(map(sum, hidden["traces"][0]["z"])) > total, "renormalised without [CLS]"
