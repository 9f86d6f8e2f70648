"""Linked state: URL ⇄ controls, controls → the resolved request, which section shows."""

from __future__ import annotations

from typing import Any

import numpy as np
from dash import Input, Output, State, callback, ctx, html, no_update

from dashboard import ids
from dashboard.figures.colors import SCHEMES, coloring, legend_entries, schemes_for
from dashboard.figures.hover import display
from dashboard.models.corpora import InputError
from dashboard.search import match_tokens
from dashboard.services import current, params_from
from dashboard.urlstate import UrlState, parse

CONTROLS = [
    (ids.MODEL, "value"),
    (ids.CORPUS, "value"),
    (ids.METHOD, "value"),
    (ids.DIMS, "value"),
    (ids.OPTIONS, "value"),
    (ids.COLOR, "value"),
    (ids.SENTENCE_PICK, "value"),
    (ids.SENTENCE_SCOPE, "value"),
    (ids.SENTENCE_HIDE_FIRST, "value"),
    (ids.SEARCH, "value"),
    (ids.SEARCH_OPTIONS, "value"),
]


def controls_of(state: UrlState) -> list[Any]:
    options = [name for name, on in (("translate", state.translate), ("scale", state.scale)) if on]
    return [
        state.model,
        state.corpus,
        state.method,
        state.dims,
        options,
        state.color,
        state.sentence,
        state.scope,
        ["hide"] if state.hide_first else [],
        state.search,
        [name for name, on in (("regex", state.regex), ("case", state.case)) if on],
    ]


def state_of(values: list[Any], view: dict | None) -> UrlState:
    (
        model,
        corpus,
        method,
        dims,
        options,
        color,
        sentence,
        scope,
        hide_first,
        search,
        search_options,
    ) = values
    view = view or {}
    return UrlState(
        model,
        corpus,
        method,
        int(dims),
        "translate" in (options or []),
        "scale" in (options or []),
        color,
        view.get("view", "matrix"),
        view.get("layer"),
        view.get("head"),
        sentence if view.get("view") == "sentence" else None,
        scope or "head",
        bool(hide_first),
        view.get("patch") if view.get("view") == "sentence" else None,
        (search or "").strip(),
        "regex" in (search_options or []),
        "case" in (search_options or []),
    )


@callback(
    Output(ids.URL, "search"),
    *[Output(i, p) for i, p in CONTROLS],
    Output(ids.VIEW, "data"),
    Input(ids.URL, "search"),
    *[Input(i, p) for i, p in CONTROLS],
    State(ids.VIEW, "data"),
)
def sync_url(search: str | None, *args: Any):
    """One callback for both directions (Dash allows a cycle only inside one callback)."""
    values, view = list(args[:-1]), args[-1]
    triggered = {t["prop_id"].split(".")[0] for t in ctx.triggered} if ctx.triggered else set()
    if ids.URL in triggered or not triggered or None in values[:4]:
        state = parse(search)
        new_values = controls_of(state)
        new_view = view_of(state)
        return (
            no_update,
            *[
                no_update if old == new else new
                for old, new in zip(values, new_values, strict=True)
            ],
            no_update if new_view == view else new_view,
        )
    wanted = state_of(values, view)
    # Dash does not re-run this callback for its own URL output: update the view here as well
    new_view = view_of(wanted)
    return (
        no_update if wanted.to_search() == search else wanted.to_search(),
        *[no_update] * len(CONTROLS),
        no_update if new_view == view else new_view,
    )


def view_of(state: UrlState) -> dict:
    return {
        "view": state.view,
        "layer": state.layer,
        "head": state.head,
        "sentence": state.sentence,
        "scope": state.scope,
        "hide_first": state.hide_first,
        "patch": state.patch,
    }


def resolve_request(model: str, corpus: str, method: str, dims: int, options: list[str]) -> dict:
    """The request every job and figure works from; an "error" entry says what to fix."""
    svc = current()
    try:
        job, corpus_obj = svc.job(model, corpus)
        params = params_from(method, dims, options, svc.settings.seed)
    except (InputError, ValueError) as exc:
        return {"error": str(exc)}
    spec = job.model
    return {
        "model": model,
        "corpus": corpus,
        "params": params.to_dict(),
        "key": job.matrix_key(params),
        "n_layers": spec.n_layers,
        "n_heads": spec.n_heads,
        "title": f"{spec.name} · {corpus_obj.name} · {params.label()}",
        "info": (
            f"{spec.name}: {spec.family} {spec.architecture}, {spec.n_layers} layers × {spec.n_heads} "
            f"heads, d_head {spec.head_dim}, {spec.n_params / 1e6:.1f}M parameters. "
            f"Source: {spec.source}. {spec.note + ' ' if spec.note else ''}"
            f"Corpus: {corpus_obj.name} — {corpus_obj.credit}."
        ),
    }


@callback(Output(ids.REQUEST, "data"), *[Input(i, p) for i, p in CONTROLS[:5]])
def request(model, corpus, method, dims, options):
    if None in (model, corpus, method, dims):
        return no_update
    return resolve_request(model, corpus, method, dims, options)


@callback(Output(ids.MODEL_INFO, "children"), Input(ids.REQUEST, "data"))
def model_info(request):
    return (request or {}).get("info", "")


@callback(
    Output(ids.MATRIX_SECTION, "hidden"),
    Output(ids.HEAD_SECTION, "hidden"),
    Output(ids.SENTENCE_SECTION, "hidden"),
    Input(ids.VIEW, "data"),
)
def sections(view):
    current_view = (view or {}).get("view", "matrix")
    return current_view != "matrix", current_view != "head", current_view != "sentence"


def legend_items(scheme: str, entries: list[tuple[str, str]] | None = None) -> list:
    swatches = [
        html.Span(
            [html.Span(className="swatch", style={"background": colour}), label],
            className="legend-item",
        )
        for colour, label in (entries or legend_entries(scheme))
    ]
    return [html.Span(SCHEMES[scheme].explanation, className="legend-text"), *swatches]


def modality_of(model_id: str | None) -> str:
    spec = current().registry.models.get(model_id or "")
    return spec.modality if spec else "text"


@callback(
    Output(ids.LEGEND, "children"),
    Input(ids.COLOR, "value"),
    Input(ids.MODEL, "value"),
    Input(ids.REQUEST, "data"),
    Input(ids.JOB_RESULT, "data"),
)
def legend(scheme, model_id, request, _result):
    fitting = schemes_for(modality_of(model_id))
    scheme = scheme if scheme in fitting else "role"
    if scheme != "label":
        return legend_items(scheme)
    names = corpus_labels(request)
    if not names:
        return legend_items("role")  # no labels in this corpus: the maps show query vs key
    return legend_items("label", coloring("label", label_table(len(names)), names).legend)


def corpus_labels(request: dict | None) -> list[str]:
    if not request or request.get("error"):
        return []
    svc = current()
    job, _ = svc.job(request["model"], request["corpus"])
    return (svc.store.load_meta(job.tokens_key) or {}).get("labels", [])


def label_table(n: int):
    from dashboard.models.qk import TokenTable

    return TokenTable(
        np.array(["a"] * n),
        np.arange(n, dtype=np.int32),
        np.zeros(n, np.int32),
        np.ones(n, np.int32),
        np.zeros(n, bool),
        label=np.arange(n, dtype=np.int32),
    )


@callback(Output(ids.COLOR, "options"), Input(ids.MODEL, "value"))
def colour_options(model_id):
    """Text models get text schemes; the vision model gets patch row/column/hue/brightness."""
    return [{"label": SCHEMES[k].label, "value": k} for k in schemes_for(modality_of(model_id))]


def search_summary(request: dict | None, text: str | None, options: list[str] | None) -> list | str:
    """How many tokens match, with a few examples in context — or why the search is invalid."""
    text = (text or "").strip()
    if not text or not request or request.get("error"):
        return ""
    svc = current()
    job, _ = svc.job(request["model"], request["corpus"])
    table = svc.tokens(job)
    if table is None:
        return "Search runs once the queries and keys are extracted."
    options = options or []
    try:
        hits = np.flatnonzero(match_tokens(table, text, "regex" in options, "case" in options))
    except InputError as exc:
        return str(exc)
    if not len(hits):
        return f"No token matches “{text}”."
    examples = [display(str(table.token[i])).strip() for i in hits[:8]]
    return [
        html.Mark(f"{len(hits):,} tokens"),
        f" match “{text}”: {len(hits):,} queries and {len(hits):,} keys highlighted in every head (e.g. ",
        ", ".join(dict.fromkeys(examples)),
        ").",
    ]


@callback(
    Output(ids.SEARCH_INFO, "children"),
    Input(ids.REQUEST, "data"),
    Input(ids.SEARCH, "value"),
    Input(ids.SEARCH_OPTIONS, "value"),
    Input(ids.JOB_RESULT, "data"),
)
def search_info(request, text, options, _result):
    return search_summary(request, text, options)
