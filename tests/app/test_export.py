"""The open head's downloads hold exactly the cached map and its token table."""

from __future__ import annotations

import base64
import csv
import io

import numpy as np

from dashboard.cache_keys import MapParams
from dashboard.views.export import head_file


def test_head_downloads_equal_the_cached_coordinates(svc, tiny_request):
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    layer, head = subject.heads()[-1]
    view = {"view": "head", "layer": layer, "head": head}
    cached = svc.store.load(subject.coords_key(layer, head, MapParams()))[0]["coords"]
    table = svc.tokens(subject)
    n = len(table)

    sent = head_file("csv", tiny_request, view)
    assert sent["filename"] == f"local-tiny-bert_{tiny_request['corpus']}_L{layer}H{head}_pca.csv"
    rows = list(csv.DictReader(io.StringIO(sent["content"], newline="")))
    assert len(rows) == 2 * n == len(cached)
    xy = np.array([[float(r["x"]), float(r["y"])] for r in rows], dtype=np.float32)
    np.testing.assert_array_equal(xy, cached)  # float32 written in its shortest exact form
    assert [r["role"] for r in rows] == ["query"] * n + ["key"] * n
    assert [int(r["position"]) for r in rows[:n]] == table.position.tolist()
    assert [int(r["sentence"]) for r in rows[n:]] == table.sentence.tolist()

    sent = head_file("npz", tiny_request, view)
    assert sent["filename"].endswith(f"_L{layer}H{head}_pca.npz") and sent["base64"]
    with np.load(io.BytesIO(base64.b64decode(sent["content"])), allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["coords"], cached)
        assert npz["token"].tolist() == 2 * table.token.astype(str).tolist()
        assert set(npz.files) == {"coords", "role", "token", "sentence", "position"}

    assert head_file("csv", tiny_request, {"view": "matrix"}) is None  # no head open
