"""A sentence dropped into a head's fitted map: placed with the corpus's own fit, not refitted."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import worker_tasks
from dashboard.cache_keys import MapParams
from dashboard.errors import InputError
from dashboard.models.qk import sentence_attention
from tests.app.conftest import SENTENCES


def test_a_corpus_sentence_placed_by_pca_lands_on_its_own_points(svc, tiny_request):
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    layer, head = subject.heads()[-1]
    params = MapParams()
    table = svc.tokens(subject)
    first = SENTENCES.splitlines()[0]
    span = table.sentence_slices()[0]
    n = len(table)

    placed = worker_tasks.place_task(subject, layer, head, params, first)
    assert placed["token"].tolist() == table.token[span].astype(str).tolist()
    stored = svc.store.load(subject.coords_key(layer, head, params))[0]["coords"]
    rows = np.r_[np.arange(n)[span], n + np.arange(n)[span]]  # its queries, then its keys
    np.testing.assert_allclose(placed["coords"], stored[rows], atol=1e-4)

    q, k = svc.qk(subject, layer)
    _, weights = sentence_attention(q[head], k[subject.model.kv_head(head)], table, 0, False)
    np.testing.assert_allclose(placed["weights"], weights, atol=1e-5)


def test_three_d_tsne_says_it_cannot_place(svc, tiny_request):
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    with pytest.raises(InputError, match="cannot place new points"):
        worker_tasks.place_task(subject, 0, 0, MapParams("tsne", 3), "A short one.")


def test_the_head_map_draws_placed_points_over_it_and_says_they_were_placed(svc, tiny_request):
    from dashboard.figures.single import PLACED
    from dashboard.views import head, place

    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    view = {"view": "head", "layer": 1, "head": 2}
    result = worker_tasks.place_task(subject, 1, 2, MapParams(), "Paris is lovely.")
    placed = {
        "key": tiny_request["key"],
        "layer": 1,
        "head": 2,
        "text": "Paris is lovely.",
        "token": result["token"].tolist(),
        "coords": result["coords"].tolist(),
        "weights": result["weights"].tolist(),
    }
    figure, *_ = head.render(view, tiny_request, "role", None, placed=placed)
    assert len(figure["data"]) == PLACED + 1
    texts = figure["data"][PLACED]["text"]
    assert len(texts) == 2 * len(result["token"])
    assert all(t.startswith("placed, not fitted · ") for t in texts)
    # another head (or map) does not draw them
    other, *_ = head.render({**view, "head": 3}, tiny_request, "role", None, placed=placed)
    assert len(other["data"]) == PLACED
    assert place.placed_for(placed, tiny_request["key"], 1, 3) is None
