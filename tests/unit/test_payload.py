"""Bytes on the wire: the matrix and head figures within their budgets (issue 12), and the gzip
that sends them. Sizes, not times: they do not depend on the machine's load."""

import gzip
from dataclasses import replace

import numpy as np
from flask import Flask
from plotly.io.json import to_json_plotly

from bench.figures import HEAD_WIRE_BUDGET, MATRIX_WIRE_BUDGET, drawn_points
from dashboard import compression
from dashboard.config import Settings
from dashboard.figures.colors import coloring
from dashboard.figures.hover import hover_table, point_hover, token_texts
from dashboard.figures.matrix import MAX_PAIRS, matrix_figure, sample_points
from dashboard.figures.single import head_figure
from dashboard.models.qk import TokenTable
from dashboard.models.registry import DEFAULT_MODEL, discover


def corpus_table(n_tokens: int, length: int = 25) -> TokenTable:
    """A corpus of n_tokens in sentences of `length` tokens, with word-like tokens."""
    rng = np.random.default_rng(0)
    words = np.array(["the", "cat", "sat", "on", "a", "mat", "##s", ",", "dogs", "[CLS]"])
    position = np.arange(n_tokens) % length
    return TokenTable(
        token=words[rng.integers(0, len(words), n_tokens)],
        sentence=(np.arange(n_tokens) // length).astype(np.int32),
        position=position.astype(np.int32),
        length=np.full(n_tokens, length, dtype=np.int32),
        special=position == 0,
    )


def wire_bytes(figure: dict) -> int:
    """What the browser downloads: the figure as Dash writes it, compressed as the app sends it."""
    return len(compression.compressed(to_json_plotly(figure).encode()))


def test_default_matrix_is_within_its_bytes_per_point():
    model = discover().models[DEFAULT_MODEL]
    n_tokens = Settings().corpus_tokens  # the default corpus's size
    table = corpus_table(n_tokens)
    pick = sample_points(n_tokens)
    assert len(pick) == 2 * min(n_tokens, MAX_PAIRS)
    rng = np.random.default_rng(0)
    heads = [(layer, head) for layer in range(model.n_layers) for head in range(model.n_heads)]
    coords = {h: rng.normal(size=(len(pick), 2)).astype(np.float32) for h in heads}
    color = coloring("position", table)  # a continuous scheme: more bytes than query/key
    picked = replace(color, values=color.values[pick])
    figure = matrix_figure(model.n_layers, model.n_heads, coords, len(pick), picked)
    points = drawn_points(figure)
    assert points == len(heads) * len(pick)
    assert wire_bytes(figure) <= MATRIX_WIRE_BUDGET * points


def test_head_view_is_within_its_bytes_per_point():
    """The first head of a corpus brings the corpus's hover table along: both count."""
    table = corpus_table(Settings().corpus_tokens)
    coords = np.random.default_rng(0).normal(size=(2 * len(table), 2)).astype(np.float32)
    figure = head_figure(coords, coloring("role", table), point_hover(table), point_text=False)
    assert drawn_points(figure) == 2 * len(table)
    hover = hover_table(token_texts(table))
    assert wire_bytes(figure) + wire_bytes(hover) <= HEAD_WIRE_BUDGET * 2 * len(table)


def test_json_responses_are_gzipped_for_clients_that_accept_it():
    app = Flask(__name__)
    compression.install(app)
    big = {"values": list(range(2_000))}

    @app.get("/big")
    def big_json():
        return big

    @app.get("/small")
    def small_json():
        return {"ok": True}

    client = app.test_client()
    sent = client.get("/big", headers={"Accept-Encoding": "gzip, deflate"})
    assert sent.headers["Content-Encoding"] == "gzip"
    assert int(sent.headers["Content-Length"]) == len(sent.data) < len(str(big)) / 2
    assert gzip.decompress(sent.data) == client.get("/big").data  # the same JSON, compressed
    assert "Accept-Encoding" in sent.headers["Vary"]
    assert "Content-Encoding" not in client.get("/big").headers  # the client did not ask
    small = client.get("/small", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers  # too small to gain


def test_a_big_body_sent_again_is_compressed_once(monkeypatch):
    """Figures go to every user who opens them: the second time, the gzip is reused (by the
    body's digest), and it is the same body's gzip, never another's."""
    calls = []
    real = gzip.compress
    monkeypatch.setattr(gzip, "compress", lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(0)
    body, other = (rng.integers(0, 9, compression.REUSE_BYTES).tobytes() for _ in range(2))
    first = compression.compressed(body)
    assert compression.compressed(body) == first and len(calls) == 1
    assert gzip.decompress(compression.compressed(other)) == other and len(calls) == 2
    small = b"x" * (compression.REUSE_BYTES // 2)
    compression.compressed(small), compression.compressed(small)
    assert len(calls) == 4  # small bodies: cheaper to compress than to look up
