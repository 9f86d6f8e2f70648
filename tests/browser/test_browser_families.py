"""The other model families: the RoPE/GQA decoder (SmolLM2) and the vision transformer (DINOv2).

The decoder is converted from its GGUF file on first use (a fresh cache per session), so only
the first test here waits for it; later tests (screenshots) find it in the cache.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

GREY = "#b8bec7"  # [CLS] in the patch row/column schemes


def hover_patterns(n_tokens: int) -> tuple[re.Pattern, re.Pattern]:
    """Hover texts of a patch and of [CLS], in an image of `n_tokens` tokens."""
    patch = rf"^(query|key) · <b>r(\d+) c(\d+)</b> · token (\d+) of {n_tokens}<br>image (\d+): \S"
    cls = rf"^(query|key) · <b>\[CLS\]</b> · token 0 of {n_tokens}<br>image (\d+): \S"
    return re.compile(patch), re.compile(cls)


def test_decoder_maps_every_head_of_every_layer(page, decoder):
    n_layers, n_heads = decoder.n_layers, decoder.n_heads
    page.open("?model=smollm2&corpus=default")
    page.wait(
        lambda _: "SmolLM2-135M-Instruct" in (page.text("ctl-model") or ""),
        "the model dropdown to show the decoder",
    )
    # the model info says what these weights are: a dequantised 4-bit approximation
    page.wait(lambda _: "quantised" in (page.text("ctl-model-info") or ""), "the model info")
    info = page.text("ctl-model-info")
    assert f"{n_layers} layers × {n_heads} heads" in info and "LlamaForCausalLM" in info

    # one trace per layer, n_heads head blocks each, every block drawn: conversion + extraction
    m = page.wait_matrix_full(decoder, timeout=page.DECODER_TIMEOUT)
    assert len(m["traces"]) == n_layers
    for trace in m["traces"]:
        assert trace["type"] == "scattergl"
        assert trace["length"] == trace["ylength"] == n_heads * m["n_points"]
        assert trace["filled"] == [m["n_points"]] * n_heads
    assert m["title"].startswith("SmolLM2-135M-Instruct · Wikipedia sample")
    ticks = page.driver.execute_script(
        "return Array.from(document.querySelectorAll('#matrix-graph .ytick text'))"
        ".map(e => e.textContent);"
    )
    assert ticks == [f"L{layer}" for layer in range(n_layers)]
    n_maps = f"{n_layers * n_heads} of {n_layers * n_heads}"
    page.wait(lambda _: n_maps in (page.text("job-text") or ""), f"the job to report {n_maps}")
    assert page.hidden("app-alert"), page.text("app-alert")
    q = page.query()
    assert (q["model"], q["corpus"]) == ("smollm2", "default")


def test_vision_model_matrix_head_and_patch_colours(page, vit, vit_grid, sample_images):
    n_images, side = len(sample_images), vit_grid
    n_tokens = 1 + side * side  # [CLS] + the patches of one image
    patch_hover, cls_hover = hover_patterns(n_tokens)
    page.open("?model=dinov2-s14&corpus=images")
    m = page.wait_matrix_full(vit)
    assert len(m["traces"]) == vit.n_layers
    assert all(t["filled"] == [m["n_points"]] * vit.n_heads for t in m["traces"])
    assert "DINOv2" in m["title"] and f"Sample photos ({n_images} images)" in m["title"]
    assert f"{vit.n_layers} layers × {vit.n_heads} heads" in page.text("ctl-model-info")
    # vision colour schemes, not the text ones
    labels = page.radio_labels("ctl-color")
    assert "Patch row" in labels and "Patch column" in labels and "Image" in labels
    assert "Token frequency" not in labels and "Sentence" not in labels

    last = vit.n_layers - 1
    page.open(f"?model=dinov2-s14&corpus=images&view=head&layer={last}&head=0")
    page.wait(lambda _: page.text("head-title") == f"Layer {last} · head 0", "the head title")
    n_points = 2 * n_images * n_tokens  # every image's tokens, as queries and as keys
    h = page.wait_head(lambda h: h["length"] == n_points, f"a head of {n_points} points")
    assert h["finite"] == n_points
    texts = h["text"]
    patches = [patch_hover.match(t) for t in texts]
    cls = [t for t in texts if cls_hover.match(t)]
    assert len(cls) == 2 * n_images, "one [CLS] per image, as query and as key"
    assert sum(p is not None for p in patches) == n_points - len(cls), [
        t for t, p in zip(texts, patches, strict=True) if p is None and t not in cls
    ][:3]
    for match in filter(None, patches):  # the token index is 1 + row·side + col
        row, col, token = int(match[2]), int(match[3]), int(match[4])
        assert 0 <= row < side and 0 <= col < side and token == 1 + side * row + col, match[0]
    first = f"query · <b>r0 c0</b> · token 1 of {n_tokens}<br>image 0: "
    assert any(t.startswith(first) for t in texts)
    assert {int(p[5]) for p in filter(None, patches)} == set(range(n_images))
    assert GREY not in h["colors"], "query/key colours first"

    page.radio("ctl-color", "row").click()
    page.wait_query(color="row", view="head", layer=str(last), head="0")
    h2 = page.wait_head(lambda h: GREY in h["colors"], "the head in patch-row colours")
    assert h2["length"] == n_points
    page.wait(lambda _: page.text("legend").startswith("The patch's row"), "the patch-row legend")
    assert not page.hidden("head-section")


def test_switching_to_the_vision_model_switches_to_images(page, minilm, vit, sample_images):
    page.open()
    page.wait_matrix_full(minilm)
    assert "Wikipedia sample" in page.text("ctl-corpus")

    chosen = page.choose("ctl-model", "DINOv2")
    assert f"{vit.n_layers}×{vit.n_heads} heads" in chosen
    q = page.wait_query(model="dinov2-s14", corpus="images")
    assert q["corpus"] == "images", "the corpus follows the model's modality"
    page.wait(lambda _: "Sample photos" in (page.text("ctl-corpus") or ""), "the corpus dropdown")
    m = page.wait_matrix_full(vit)
    assert f"Sample photos ({len(sample_images)} images)" in m["title"]
    page.wait(lambda _: "Patch row" in page.radio_labels("ctl-color"), "the image colour schemes")
    assert page.hidden("app-alert"), page.text("app-alert")

    # and back: the text model gets the Wikipedia sample again
    page.choose("ctl-model", "MiniLM")
    page.wait_query(model="minilm", corpus="default")
    m = page.wait_matrix_full(minilm)
    assert "Wikipedia sample" in m["title"]
    assert page.hidden("app-alert"), page.text("app-alert")
