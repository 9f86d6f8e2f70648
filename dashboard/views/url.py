"""Linked state: URL ⇄ controls (one callback, both directions), and which section shows."""

from __future__ import annotations

from typing import Any

from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    no_update,
)

from dashboard import ids
from dashboard.auth import current_user
from dashboard.cache_keys import MAX_GENERATE
from dashboard.catalog import current
from dashboard.errors import InputError
from dashboard.projection.joint import RATIOS
from dashboard.urlstate import UrlState, link_note, parse
from dashboard.views.export import name_images
from dashboard.views.matrix import clicked_head
from dashboard.views.request import resolve_request, with_previous

CONTROLS = [
    (ids.MODEL, "value"),
    (ids.CORPUS, "value"),
    (ids.METHOD, "value"),
    (ids.DIMS, "value"),
    (ids.OPTIONS, "value"),
    (ids.SCALE, "value"),
    (ids.COLOR, "value"),
    (ids.ALIGN, "value"),
    (ids.SENTENCE_PICK, "value"),
    (ids.SENTENCE_SCOPE, "value"),
    (ids.SENTENCE_HIDE_FIRST, "value"),
    (ids.SEARCH, "value"),
    (ids.SEARCH_OPTIONS, "value"),
    (ids.GENERATE, "value"),
    (ids.GENERATED_HIDE, "value"),
    (ids.COMPARE_A_LAYER, "value"),
    (ids.COMPARE_A_HEAD, "value"),
    (ids.COMPARE_B_MODEL, "value"),
    (ids.COMPARE_B_LAYER, "value"),
    (ids.COMPARE_B_HEAD, "value"),
    (ids.COMPARE_PANES, "value"),
]


def _options(state: UrlState) -> list[str]:
    return [name for name, on in (("translate", state.translate), ("scale", state.scale)) if on]


def search_options(state: UrlState) -> list[str]:
    """The search options' checklist value the state says."""
    flags = (("regex", state.regex), ("case", state.case), ("whole", state.whole))
    return [name for name, on in flags if on]


def controls_of(state: UrlState) -> list[Any]:
    return [
        state.model,
        state.corpus,
        state.method,
        state.dims,
        _options(state),
        RATIOS.index(state.key_ratio),
        state.color,
        state.align,
        state.sentence,
        state.scope,
        ["hide"] if state.hide_first else [],
        state.search,
        search_options(state),
        state.generate,
        ["hide"] if state.hide_generated else [],
        state.layer if state.view == "compare" else None,
        state.head if state.view == "compare" else None,
        state.b_model,
        state.b_layer,
        state.b_head,
        state.panes,
    ]


def state_of(values: list[Any], view: dict | None) -> UrlState:
    (
        model,
        corpus,
        method,
        dims,
        options,
        scale,
        color,
        align,
        sentence,
        scope,
        hide_first,
        search,
        search_options,
        generate,
        hide_generated,
        a_layer,
        a_head,
        b_model,
        b_layer,
        b_head,
        panes,
    ) = values
    view = view or {}
    compare = view.get("view") == "compare"
    return UrlState(
        model,
        corpus,
        method,
        int(dims),
        "translate" in (options or []),
        "scale" in (options or []),
        RATIOS[scale] if isinstance(scale, int) and 0 <= scale < len(RATIOS) else 1.0,
        color,
        align or "none",
        view.get("view", "matrix"),
        _count(a_layer, view.get("layer")) if compare else view.get("layer"),
        _count(a_head, view.get("head")) if compare else view.get("head"),
        sentence if view.get("view") == "sentence" else None,
        scope or "head",
        bool(hide_first),
        view.get("patch") if view.get("view") == "sentence" else None,
        (search or "").strip(),
        "regex" in (search_options or []),
        "case" in (search_options or []),
        "whole" in (search_options or []),
        view.get("point") if view.get("view") == "head" else None,
        min(max(int(generate or 0), 0), MAX_GENERATE),
        bool(hide_generated),
        (b_model or model) if compare else None,
        _count(b_layer, view.get("b_layer")) if compare else None,
        _count(b_head, view.get("b_head")) if compare else None,
        panes if compare and panes == "matrices" else "heads",
    )


def _count(value: Any, fallback: int | None) -> int | None:
    """A layer or head number typed into a pane's box: a non-negative int, else the fallback."""
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return fallback


@callback(
    Output(ids.URL, "search"),
    *[Output(i, p) for i, p in CONTROLS],
    Output(ids.VIEW, "data"),
    Output(ids.URL_NOTE, "children"),
    Output(ids.URL_NOTE, "hidden"),
    Output(ids.REQUEST, "data"),
    Output(ids.IMAGE_NAMES, "data"),
    Input(ids.URL, "search"),
    *[Input(i, p) for i, p in CONTROLS],
    Input(ids.MATRIX_GRAPH, "clickData"),
    State(ids.VIEW, "data"),
    State(ids.REQUEST, "data"),
    State(ids.MATRIX_SHOWN, "data"),
)
def sync_url(search: str | None, *args: Any):
    """One callback for both directions (Dash allows a cycle only inside one callback), and
    the request the state asks for: resolved here, not by a callback on the controls, as that
    was one more round trip before any figure could be asked for. A click on the matrix opens
    its head here too, for the same reason (the app's most frequent navigation), and the file
    names the graphs save under follow the view and request here (one more request each time,
    views/export.name_images)."""
    values, click, view, shown, matrix = list(args[:-4]), *args[-4:]
    answer = _answer(search, values, click, view, shown, matrix)
    new_view, new_request = answer[1 + len(CONTROLS)], answer[-1]
    if new_view is no_update and new_request is no_update:
        return (*answer, no_update)
    return (
        *answer,
        name_images(
            shown if new_request is no_update else new_request,
            view if new_view is no_update else new_view,
        ),
    )


def _answer(search: str | None, values: list, click: Any, view: Any, shown: Any, matrix: Any):
    """sync_url's answer but the file names."""
    triggered = {t["prop_id"].split(".")[0] for t in ctx.triggered} if ctx.triggered else set()
    if ids.MATRIX_GRAPH in triggered:
        opened = clicked_head(click, search, shown, matrix)
        if opened is None:
            return (no_update,) * (len(CONTROLS) + 5)
        return _from_url(opened, search, values, view, shown)
    if ids.URL in triggered or not triggered or None in values[:4]:
        return _from_url(search, search, values, view, shown)
    wanted = within_corpus(state_of(values, view))
    old = parse(search)
    if (wanted.model, wanted.corpus) != (old.model, old.corpus):
        wanted = wanted.pin(None)  # a pinned point names a token of the old corpus
    # Dash does not re-run this callback for its own URL output: update the view here as well
    new_view = view_of(wanted)
    picker = CONTROLS.index((ids.SENTENCE_PICK, "value"))
    new_values = [no_update] * len(CONTROLS)
    if wanted.view == "sentence" and values[picker] != wanted.sentence:
        new_values[picker] = wanted.sentence  # moved into a new, smaller corpus
    changed = wanted.to_search() != search
    return (
        wanted.to_search() if changed else no_update,
        *new_values,
        no_update if new_view == view else new_view,
        *(_note("") if changed else (no_update, no_update)),  # the user moved on: note gone
        request_of(wanted, shown),
    )


def _from_url(search: str | None, old: str | None, values: list, view: Any, shown: Any):
    """sync_url's answer to a URL search: the controls, view, link note and request it says,
    and the search itself when it is not the page's URL `old` (a head opened) or moved into the
    corpus (a URL as typed is otherwise left as it is)."""
    state = within_corpus(parse(search))
    new_values = controls_of(state)
    new_view = view_of(state)
    return (
        no_update if state == parse(old) else state.to_search(),
        *[
            no_update if before == new else new
            for before, new in zip(values, new_values, strict=True)
        ],
        no_update if new_view == view else new_view,
        *_note(link_note(search)),
        request_of(state, shown),
    )


def request_of(state: UrlState, shown: dict | None) -> Any:
    """The request of the state (views/request.py); no update when it is the one shown."""
    new = with_previous(
        resolve_request(
            state.model,
            state.corpus,
            state.method,
            state.dims,
            _options(state),
            RATIOS.index(state.key_ratio),
            state.generate,
        ),
        shown,
    )
    return no_update if new == shown else new


def _note(text: str) -> tuple[str, bool]:
    return text, not text


def within_corpus(state: UrlState) -> UrlState:
    """The sentence view's sentence (or image) moved into the corpus: after “Map these
    sentences” (3 of them) a picker left on sentence 7 would name a sentence the figure is not."""
    if state.view != "sentence" or not state.sentence:
        return state
    try:
        size = current().corpus(state.corpus, current_user()).size
    except InputError:
        return state  # an unknown corpus: the request says so
    return state if state.sentence < size else state.open_sentence(max(size - 1, 0))


def view_of(state: UrlState) -> dict:
    return {
        "view": state.view,
        "layer": state.layer,
        "head": state.head,
        "sentence": state.sentence,
        "scope": state.scope,
        "hide_first": state.hide_first,
        "patch": state.patch,
        "point": state.point,
        "b_model": state.b_model,
        "b_layer": state.b_layer,
        "b_head": state.b_head,
        "panes": state.panes,
    }


clientside_callback(  # each view's section hidden unless it is the open one (assets/views.js)
    ClientsideFunction(namespace="qkatlas", function_name="sections"),
    Output(ids.MATRIX_SECTION, "hidden"),
    Output(ids.HEAD_SECTION, "hidden"),
    Output(ids.SENTENCE_SECTION, "hidden"),
    Output(ids.SIMILARITY_SECTION, "hidden"),
    Output(ids.COMPARE_SECTION, "hidden"),
    Input(ids.VIEW, "data"),
    prevent_initial_call=True,  # the layout shows the matrix
)


# Each view's callbacks listen to its gate's stores (assets/views.js): they run only while it is
# open, so opening a head runs no sentence, compare or similarity callback, and with the matrix
# open none of them runs and the matrix figure is not queued behind them
clientside_callback(
    ClientsideFunction(namespace="qkatlas", function_name="viewGates"),
    *(Output(store, "data") for store in ids.VIEW_GATES),
    Input(ids.VIEW, "data"),
    Input(ids.REQUEST, "data"),
    Input(ids.JOB_PROGRESS, "data"),
    Input(ids.URL, "search"),
)
clientside_callback(
    ClientsideFunction(namespace="qkatlas", function_name="analysisGates"),
    *(Output(store, "data") for store in ids.ANALYSIS_GATES),
    Input(ids.VIEW, "data"),
    Input(ids.ANALYSIS, "data"),
    Input(ids.METRICS, "data"),
)
