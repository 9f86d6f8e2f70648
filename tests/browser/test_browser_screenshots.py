"""Screenshots for the README, checked to show drawn maps, not blank plots.

They go to a temporary folder; `pytest --screenshots docs/screenshots` updates the README's.
"""

from __future__ import annotations

import contextlib
import io

import pytest

pytestmark = pytest.mark.browser

QUERY_RGB, KEY_RGB = (0x1B, 0x9E, 0x77), (0xE7, 0x29, 0x8A)
HEAD = "layer=1&head=6"  # a head with clear structure
HOVER_POINT = 40  # a query token mid-sentence, so the hover shows context on both sides
DECODER_SENTENCE = "layer=3&head=1&sentence=4"
VIT_HEAD = "layer=11&head=0"
VIT_IMAGE = "layer=11&head=2&sentence=1&patch=90"  # image 1 (the cat), patch r5 c9
VIRIDIS_DARK, VIRIDIS_LIGHT = (0x44, 0x01, 0x54), (0xFD, 0xE7, 0x25)  # top / bottom patch rows
# matrix search hits: orange at 45 % over white (figures/matrix.match_trace)
HIT_RGB = (0xFF, 0xC9, 0x8C)
WINDOW = (1400, 1100)  # the browser's size (conftest's CHROME_ARGS), before fit_window


def coloured_pixels(png: bytes, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are near `rgb` (the points are drawn at 0.75-0.8 opacity on white)."""
    Image = pytest.importorskip("PIL.Image")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(
        count
        for count, (r, g, b) in image.getcolors(maxcolors=1 << 24)
        if abs(r - rgb[0]) + abs(g - rgb[1]) + abs(b - rgb[2]) <= tolerance
    )


def on_white(rgb: tuple[int, int, int], alpha: float) -> tuple[int, int, int]:
    """The colour a point of this opacity shows on the white plot background."""
    return tuple(round(alpha * c + (1 - alpha) * 255) for c in rgb)


def head_shown(page) -> None:
    """The head section is laid out and the matrix gone (fit_window measures the page)."""
    page.wait(
        lambda _: not page.hidden("head-section") and page.hidden("matrix-section"),
        "the head section to replace the matrix",
    )


def open_head_full_height(page, query: str, condition, message: str) -> dict:
    """Opens a head and waits for its figure with the plot area over half the window tall and
    steady for 1 s (the graph used to collapse to a ~118 px strip a moment after drawing)."""
    page.driver.set_window_size(*WINDOW)  # fit_window grew it for the previous picture
    page.open(query)
    h = page.wait_head(condition, message)
    head_shown(page)
    page.wait_job_done()  # no progress bar in the picture
    page.wait(
        lambda _: (lambda s: s and s["plot"] >= 0.5 * s["window"] and s["steady"] >= 1000)(
            page.head_size()
        ),
        "the head's map at full height",
    )
    return h


def fit_window(page, width: int = 1400) -> None:
    """Sizes the viewport to the whole page, so one screenshot shows everything."""
    driver = page.driver
    driver.set_window_size(width, 1400)
    frame = 1400 - driver.execute_script("return window.innerHeight;")  # the window's own chrome
    content = driver.execute_script(
        "const page = document.querySelector('.page');"
        "return Math.ceil(page.getBoundingClientRect().bottom + window.scrollY);"
    )
    driver.set_window_size(width, content + frame)
    driver.execute_script("window.scrollTo(0, 0);")


def settle(page, attempts: int = 6) -> None:
    """Two animation frames and a beat: plotly has relaid out and WebGL has drawn. A page busy
    redrawing a big WebGL matrix may take longer than one script timeout to draw them."""
    from selenium.common.exceptions import TimeoutException

    for attempt in range(1, attempts + 1):
        try:
            page.driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 300)));"
            )
            return
        except TimeoutException:
            if attempt == attempts:
                raise


def shoot(page, folder, name: str) -> bytes:
    settle(page)
    png = page.screenshot(folder / name)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return png


def test_screenshots(page, minilm, screenshot_dir):
    page.driver.set_script_timeout(10)

    page.open()
    page.wait_matrix_full(minilm)
    page.wait(lambda _: not page.hidden("matrix-section"), "the matrix section")
    fit_window(page)
    png = shoot(page, screenshot_dir, "matrix.png")
    assert coloured_pixels(png, QUERY_RGB) > 5_000, "green query points are drawn in the matrix"
    assert coloured_pixels(png, KEY_RGB) > 5_000, "pink key points are drawn in the matrix"

    open_head_full_height(
        page, f"?view=head&{HEAD}", lambda h: h["type"] == "scattergl", "the 2D head figure"
    )
    fit_window(page)
    settle(page)
    label = page.hover_head_point(HOVER_POINT)  # the docs show what a hover tells you
    assert "sentence" in label
    # a hover also fills the side panel with the token's links: let that land first, and keep
    # the hover label on screen for the capture
    with contextlib.suppress(AssertionError):
        page.wait(lambda _: (page.text("head-panel") or "").strip(), "the links panel", timeout=5)
    settle(page)
    if not page.js("return !!document.querySelector('#head-graph .hoverlayer .hovertext');"):
        page.hover_head_point(HOVER_POINT)
        settle(page)
    png = shoot(page, screenshot_dir, "head.png")
    assert coloured_pixels(png, QUERY_RGB) > 2_000
    assert coloured_pixels(png, KEY_RGB) > 2_000

    open_head_full_height(
        page,
        f"?dims=3&view=head&{HEAD}",
        lambda h: h["type"] == "scatter3d" and h["zlength"] == h["length"],
        "the 3D head figure",
    )
    fit_window(page)
    png = shoot(page, screenshot_dir, "head-3d.png")
    assert coloured_pixels(png, QUERY_RGB) > 1_000
    assert coloured_pixels(png, KEY_RGB) > 1_000


def sentence_shown(page) -> None:
    page.wait(
        lambda _: not page.hidden("sentence-section") and page.hidden("matrix-section"),
        "the sentence section to replace the matrix",
    )


def test_screenshots_of_the_decoder(page, decoder, screenshot_dir):
    """The decoder's matrix and a sentence's causal links without the first token."""
    page.driver.set_script_timeout(10)
    page.open("?model=smollm2&corpus=default")
    page.wait_matrix_full(decoder, timeout=page.DECODER_TIMEOUT)  # cached if the families ran
    page.wait_job_done()  # no progress bar in the picture
    fit_window(page)
    png = shoot(page, screenshot_dir, "matrix-decoder.png")
    assert coloured_pixels(png, QUERY_RGB) > 5_000
    assert coloured_pixels(png, KEY_RGB) > 5_000

    page.open(f"?model=smollm2&corpus=default&view=sentence&{DECODER_SENTENCE}&hide_first=1")
    page.wait_sentence(
        lambda s: any(t["mode"] == "lines" for t in s["traces"]), "the decoder's sentence links"
    )
    sentence_shown(page)
    assert "Causal model" in page.text("sentence-note")
    page.wait_job_done()  # no progress bar in the picture
    fit_window(page)
    png = shoot(page, screenshot_dir, "sentence-decoder.png")
    assert coloured_pixels(png, QUERY_RGB) > 1_000 and coloured_pixels(png, KEY_RGB) > 1_000


def test_screenshots_of_the_vision_model(page, vit, screenshot_dir):
    """The ViT's matrix, one head coloured by patch row, and the image overlay."""
    page.driver.set_script_timeout(10)
    page.open("?model=dinov2-s14&corpus=images")
    page.wait_matrix_full(vit)
    page.wait_job_done()  # no progress bar in the picture
    fit_window(page)
    png = shoot(page, screenshot_dir, "matrix-vit.png")
    assert coloured_pixels(png, QUERY_RGB) > 5_000
    assert coloured_pixels(png, KEY_RGB) > 5_000

    open_head_full_height(
        page,
        f"?model=dinov2-s14&corpus=images&color=row&view=head&{VIT_HEAD}",
        lambda h: "#b8bec7" in h["colors"],
        "the head in patch-row colours",
    )
    fit_window(page)
    png = shoot(page, screenshot_dir, "head-vit.png")
    # the head's points are drawn at 0.8 opacity
    assert coloured_pixels(png, on_white(VIRIDIS_DARK, 0.8)) > 500, "top rows: dark purple"
    assert coloured_pixels(png, on_white(VIRIDIS_LIGHT, 0.8)) > 500, "bottom rows: yellow"

    page.open(f"?model=dinov2-s14&corpus=images&view=sentence&{VIT_IMAGE}")
    page.wait_sentence(lambda s: s["shapes"], "the image with an outlined patch")
    sentence_shown(page)
    page.wait_job_done()  # no progress bar in the picture
    fit_window(page)
    png = shoot(page, screenshot_dir, "image.png")
    assert coloured_pixels(png, (0x00, 0xE0, 0xFF), tolerance=60) > 50, "the patch outline"


def test_screenshots_of_sentence_and_search(
    page, minilm, default_sentences, count_tokens, screenshot_dir
):
    """A sentence's query→key links (minilm), and the matrix with every [CLS] highlighted."""
    page.driver.set_script_timeout(10)
    shortest = min(range(len(default_sentences)), key=lambda i: len(default_sentences[i]))
    page.open(f"?view=sentence&layer=2&head=3&sentence={shortest}")
    page.wait_sentence(
        lambda s: any(t["mode"] == "lines" for t in s["traces"]), "the sentence links"
    )
    sentence_shown(page)
    page.wait_job_done()  # no progress bar in the picture
    fit_window(page)
    png = shoot(page, screenshot_dir, "sentence.png")
    n = count_tokens([default_sentences[shortest]])
    assert coloured_pixels(png, QUERY_RGB) > 10 * n, "a green marker per query"
    assert coloured_pixels(png, KEY_RGB) > 10 * n, "a pink marker per key"

    page.open("?search=cls")
    n, n_layers = len(default_sentences), minilm.n_layers  # a [CLS] per sentence
    page.wait(lambda _: f"{n} tokens" in (page.text("search-info") or ""), "the search summary")
    page.wait(
        lambda _: (
            lambda m: (
                m
                and len(m["traces"]) == 2 * n_layers
                and all(sum(t["filled"]) == t["length"] > 0 for t in m["traces"])
            )
        )(page.matrix()),
        f"{n_layers} layers of maps and {n_layers} of hits, every head drawn",
        timeout=90,
    )
    page.wait_job_done()  # no progress bar in the picture
    fit_window(page)
    png = shoot(page, screenshot_dir, "search.png")
    # [CLS] queries (keys) nearly coincide within a head: about one hit dot per role per cell
    assert coloured_pixels(png, HIT_RGB, 30) > 500, "translucent orange hits over the maps"
