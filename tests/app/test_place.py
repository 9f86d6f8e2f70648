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
