import numpy as np

from dashboard.figures.sentence import (
    MIN_WEIGHT,
    link_count,
    renormalise_without_first,
    sentence_figure,
)
from dashboard.urlstate import parse

TOKENS = ["[CLS]", "the", "<b>cat</b>", "sat", "[SEP]"]


def _weights(causal=False, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.random((5, 5)) ** 3
    if causal:
        w = np.tril(w)
    return w / w.sum(axis=1, keepdims=True)


def test_every_link_above_the_threshold_is_drawn_once():
    w = _weights()
    fig = sentence_figure(TOKENS, w)
    assert link_count(fig) == int((w >= MIN_WEIGHT).sum())
    nodes = [t for t in fig["data"] if t.get("mode") == "markers+text"]
    assert [t["name"] for t in nodes] == ["query", "key"] and nodes[0]["x"] == [0.0] * 5
    assert "&lt;b&gt;cat&lt;/b&gt;" in nodes[0]["text"]  # token text is escaped


def test_stronger_links_are_more_opaque():
    w = np.full((5, 5), 0.02)
    w[2, 3] = 0.9
    fig = sentence_figure(TOKENS, w)
    lines = [t for t in fig["data"] if t.get("mode") == "lines"]
    alpha = {float(t["line"]["color"].rsplit(",", 1)[1].strip(" )")): t for t in lines}
    strongest = alpha[max(alpha)]
    assert strongest["y"][:2] == [-2.0, -3.0] and link_count({"data": [strongest]}) == 1


def test_causal_weights_draw_no_link_to_the_future():
    fig = sentence_figure(TOKENS, _weights(causal=True))
    for trace in fig["data"]:
        if trace.get("mode") == "lines":
            ys = [y for y in trace["y"] if y is not None]
            for q_y, k_y in zip(ys[::2], ys[1::2], strict=True):
                assert -k_y <= -q_y  # key position ≤ query position


def test_hover_focus_fades_other_links():
    w = _weights()
    fig = sentence_figure(TOKENS, w, focus=("query", 1))
    faded = [
        t for t in fig["data"] if t.get("mode") == "lines" and t["line"]["color"].endswith("0.060)")
    ]
    assert faded and link_count({"data": faded}) == int(
        (w >= MIN_WEIGHT).sum() - (w[1] >= MIN_WEIGHT).sum()
    )


def test_hiding_the_first_token_renormalises_rows():
    w = _weights()
    rest = renormalise_without_first(w)
    assert rest.shape == (4, 4) and np.allclose(rest.sum(axis=1), 1)
    assert np.allclose(rest[0], w[1, 1:] / w[1, 1:].sum())


def test_sentence_view_url():
    state = parse("?view=sentence&layer=1&head=2&sentence=7&scope=layer&hide_first=1")
    assert (state.view, state.sentence, state.scope, state.hide_first) == (
        "sentence",
        7,
        "layer",
        True,
    )
    assert parse(state.to_search()) == state
    assert parse("?view=sentence&layer=1&head=2&scope=bogus").scope == "head"
