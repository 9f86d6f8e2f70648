"""Aligned layouts in the views: what the matrix and the head view draw is the stored map
turned onto its reference, recomputed here directly."""

from dataclasses import replace

import numpy as np
from dash import no_update

from dashboard.cache_keys import MapParams
from dashboard.figures.encode import decode
from dashboard.figures.single import draw_order
from dashboard.projection.align import align_to
from dashboard.views import head, matrix
from dashboard.views.request import resolve_request, with_previous


def _drawn(figure) -> np.ndarray:
    """The head figure's points back in id order (queries then keys)."""
    trace = figure["data"][0]
    xy = np.stack([decode(trace["x"]), decode(trace["y"])], axis=1)
    out = np.empty_like(xy)
    out[draw_order(len(xy))] = xy
    return out


def test_a_mirrored_umap_map_is_turned_back_onto_its_pca_map(svc, tiny_request):
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    umap_request = resolve_request(
        tiny_request["model"], tiny_request["corpus"], "umap", 2, ["translate", "scale"]
    )
    params = MapParams.from_dict(umap_request["params"])
    arrays, meta = svc.store.load(subject.coords_key(1, 2, params.as_pca()))
    pca = arrays["coords"]
    mirrored = (pca * np.array([-1.0, 1.0], dtype=np.float32)) @ np.array(
        [[0.0, 1.0], [-1.0, 0.0]], dtype=np.float32
    )
    svc.store.save(subject.coords_key(1, 2, params), {"coords": mirrored}, meta)  # as if UMAP
    view = {"view": "head", "layer": 1, "head": 2}

    plain, *_ = head.render(view, umap_request, "role", None)
    np.testing.assert_allclose(_drawn(plain), mirrored, atol=1e-5)
    aligned, _, _, shown, _ = head.render(view, umap_request, "role", None, align="pca")
    np.testing.assert_allclose(_drawn(aligned), pca, atol=1e-4)
    assert shown["align"] == "pca"


def test_previous_head_alignment_chains_through_the_layer(svc, tiny_request):
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    maps = [svc.store.load(subject.coords_key(0, h, MapParams()))[0]["coords"] for h in range(3)]
    expected = maps[0]
    for m in maps[1:]:
        expected = align_to(m, expected)
    view = {"view": "head", "layer": 0, "head": 2}
    figure, *_ = head.render(view, tiny_request, "role", None, align="head")
    np.testing.assert_allclose(_drawn(figure), expected, atol=1e-5)

    # the matrix draws the same aligned map in that head's cell (its points are a sample)
    full, shown = matrix.render(tiny_request, "role", None, patch_ok=False, align="head")
    assert shown["align"] == "head"
    n_heads = tiny_request["n_heads"]
    x = decode(full["data"][0]["x"])
    n_points = shown["n_points"]
    cell = x[2 * n_points : 3 * n_points]  # layer 0's trace, head 2's cell
    assert len(x) == n_heads * n_points
    plain, _ = matrix.render(tiny_request, "role", None, patch_ok=False)
    # head 0 is the chain's start: identical with and without alignment
    np.testing.assert_array_equal(x[:n_points], decode(plain["data"][0]["x"])[:n_points])
    assert not np.allclose(cell, decode(plain["data"][0]["x"])[2 * n_points : 3 * n_points])


def test_a_map_turns_onto_the_same_head_in_the_run_shown_before(svc, tiny_request):
    """Changing a setting (here the seed) keeps the picture's orientation: with "run" the new
    map is turned onto the same head's map in the request shown before, read from the cache."""
    from dashboard.urlstate import UrlState
    from dashboard.views.url import request_of

    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    before = MapParams.from_dict(tiny_request["params"])
    shown = UrlState(tiny_request["model"], tiny_request["corpus"])  # what tiny_request asks
    assert request_of(shown, tiny_request) is no_update  # nothing changed: no new request
    # another run of the same points: without norm scaling
    after_request = request_of(replace(shown, scale=False), tiny_request)
    assert after_request["previous"] == tiny_request["params"]
    after = MapParams.from_dict(after_request["params"])
    reference = svc.store.load(subject.coords_key(1, 2, before))[0]["coords"]
    # a map of the new run, mirrored so that alignment has something to undo
    mirrored = reference * np.array([-1.0, 1.0], dtype=np.float32)
    _, meta = svc.store.load(subject.coords_key(1, 2, before))
    svc.store.save(subject.coords_key(1, 2, after), {"coords": mirrored}, meta)
    view = {"view": "head", "layer": 1, "head": 2}
    plain, *_ = head.render(view, after_request, "role", None)
    np.testing.assert_allclose(_drawn(plain), mirrored, atol=1e-5)
    aligned, *_ = head.render(view, after_request, "role", None, align="run")
    np.testing.assert_allclose(_drawn(aligned), align_to(mirrored, reference), atol=1e-5)
    np.testing.assert_allclose(_drawn(aligned), reference, atol=1e-4)

    # the same request again keeps its reference; another corpus has no run before it
    again = with_previous(after_request, after_request)
    assert again["previous"] == tiny_request["params"]
    fresh = {k: v for k, v in after_request.items() if k != "previous"}
    other = with_previous({**fresh, "corpus": "default", "key": "k"}, after_request)
    assert "previous" not in other
    alone, *_ = head.render(view, {**after_request, "previous": None}, "role", None, align="run")
    np.testing.assert_allclose(_drawn(alone), mirrored, atol=1e-5)
