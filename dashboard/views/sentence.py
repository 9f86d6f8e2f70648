"""Sentence view: one sentence's query→key links for a head, or averaged over heads."""

from __future__ import annotations

import html

import numpy as np
from dash import Input, Output, State, callback, no_update

from dashboard import ids
from dashboard.auth import current_user
from dashboard.catalog import current
from dashboard.errors import InputError
from dashboard.figures.hover import display
from dashboard.figures.sentence import link_count, renormalise_without_first, sentence_figure
from dashboard.lru import LockedLRU
from dashboard.models.qk import sentence_attention
from dashboard.urlstate import parse
from dashboard.views.context import EMPTY, ViewContext, resolve
from dashboard.views.image import SCOPE_LABEL, image_render

WAITING = "Computing queries and keys…"


_WEIGHTS: LockedLRU[np.ndarray] = LockedLRU(32)  # hovering re-renders: keep recent sentences


def weights(context: ViewContext, layer: int, head: int, sentence: int, scope: str) -> np.ndarray:
    """[pos_q, pos_k]: the model's own attention weights for one sentence, for one head or a mean
    (of the layer's heads, or of every head: that reads every layer, hence the cache)."""
    layers = range(context.subject.model.n_layers) if scope == "model" else [layer]
    heads = [head] if scope == "head" else list(range(context.subject.model.n_heads))

    def mean() -> np.ndarray:
        total = 0.0
        for index in layers:
            q, k = context.qk(index)
            _, w = sentence_attention(q[heads], k[heads], context.table, sentence, context.causal)
            total = total + w.sum(axis=0)
        return total / (len(layers) * len(heads))

    key = (
        context.subject.tokens_key,
        sentence,
        scope,
        layer if scope != "model" else -1,
        head if scope == "head" else -1,
    )
    return _WEIGHTS.get(key, mean)


def render(view: dict | None, request: dict | None, hover: dict | None):
    context = resolve(request)
    if not view or view.get("view") != "sentence" or context is None:
        return no_update, no_update
    table = context.table
    if table is None:
        return EMPTY, WAITING
    layer, head = int(view["layer"]), int(view["head"])
    missing = context.subject.model.missing_head(layer, head)
    if missing:  # a link's layer or head that this model does not have
        return EMPTY, missing
    n_sentences = int(table.sentence.max()) + 1
    sentence = context.item(view)
    scope = view.get("scope", "head")
    w = weights(context, layer, head, sentence, scope)
    in_sentence = np.flatnonzero(table.sentence == sentence)
    # only a special first token ([CLS], BOS) is hidden: SmolLM2's first token is a word
    hide = bool(view.get("hide_first")) and bool(table.special[in_sentence[0]])
    hidden_note = _hidden_note(view, str(table.token[in_sentence[0]]), hide)
    if table.is_image:
        corpus = current().corpus(request["corpus"], current_user())
        figure, note = image_render(
            corpus, table, w, sentence, view.get("patch"), layer, head, scope, hide
        )
        return figure, note + hidden_note
    tokens = [display(str(t)).strip() or str(t) for t in table.token[in_sentence]]
    if hide and len(tokens) > 1:
        w, tokens = renormalise_without_first(w), tokens[1:]
    focus = _focus(hover, len(tokens))
    label = SCOPE_LABEL[scope].format(layer=layer, head=head)
    text = context.sentence_texts()[sentence]
    figure = sentence_figure(
        tokens,
        w,
        f"Sentence {sentence} of {n_sentences} · {label}<br><sup>{html.escape(text)}</sup>",
        focus,
    )
    causal = context.causal
    note = (
        f"{len(tokens)} tokens, {link_count(figure):,} links ≥ 0.01 drawn; line opacity = attention weight."
        + (" Causal model: a query links only to keys at or before it." if causal else "")
        + " Hover a token to highlight its links."
        + hidden_note
    )
    return figure, note


def _hidden_note(view: dict, first: str, hide: bool) -> str:
    """Names what "Hide the first token" hid, or why it hid nothing."""
    name = display(first).strip() or first
    if hide:
        return f" First token {html.escape(name)} hidden, the rest renormalised."
    if view.get("hide_first"):
        return (
            f" The first token “{html.escape(name)}” is a word, not a special token "
            "([CLS]/BOS): nothing hidden."
        )
    return ""


def _focus(hover: dict | None, n: int) -> tuple[str, int] | None:
    try:
        side, index = hover["points"][0]["customdata"]
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    return (side, int(index)) if side in ("query", "key") and 0 <= int(index) < n else None


@callback(
    Output(ids.SENTENCE_GRAPH, "figure"),
    Output(ids.SENTENCE_NOTE, "children"),
    Output(ids.SENTENCE_SHOWN, "data"),
    Input(ids.SENTENCE_VIEW, "data"),
    Input(ids.SENTENCE_REQUEST, "data"),
    Input(ids.SENTENCE_GRAPH, "hoverData"),
    Input(ids.SENTENCE_PROGRESS, "data"),
    State(ids.SENTENCE_SHOWN, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def update_sentence(view, request, hover, _progress, shown):
    """Progress reports re-run this while Q/K are being extracted; what is drawn changes only when
    the view, request, hover or the arrival of the tokens does. (Deciding from the inputs, not from
    which one fired: a superseding call must still draw what the superseded one would have.)"""
    signature = _signature(view, request, hover)
    if signature == shown:
        return no_update, no_update, no_update
    figure, note = render(view, request, hover)
    return figure, note, signature


def _signature(view: dict | None, request: dict | None, hover: dict | None) -> dict | None:
    context = resolve(request)
    if not view or view.get("view") != "sentence" or context is None:
        return None
    ready = context.table is not None
    return {"view": view, "key": request.get("key"), "focus": _focus(hover, 10_000), "ready": ready}


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.HEAD_TO_SENTENCE, "n_clicks"),
    State(ids.URL, "search"),
    State(ids.REQUEST, "data"),
    prevent_initial_call=True,
)
def open_sentence(n_clicks, search, request):
    """Opens the sentence (or image) of the pinned token (or the first)."""
    if not n_clicks:
        return no_update
    state, sentence = parse(search), 0
    context = resolve(request)
    table = context.table if context is not None else None
    if state.point is not None and table is not None and state.point < 2 * len(table):
        sentence = int(table.sentence[state.point % len(table)])
    return state.open_sentence(sentence).to_search()


@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input(ids.SENTENCE_BACK, "n_clicks"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def back_to_head(n_clicks, search):
    state = parse(search)
    if not n_clicks or state.layer is None:
        return no_update
    return state.open_head(state.layer, state.head).to_search()


@callback(
    Output(ids.SENTENCE_PICK, "max"),
    Input(ids.SENTENCE_REQUEST, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def pick_max(request):
    """The picker's last sentence (or image); views/url.py moves the sentence into the corpus."""
    try:
        return current().corpus(request["corpus"], current_user()).size - 1
    except (TypeError, KeyError, InputError):
        return no_update
