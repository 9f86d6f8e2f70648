"""The resolved request every job and figure works from (views/url.py resolves it from the
URL's state), and the model facts."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, callback, clientside_callback

from dashboard import ids
from dashboard.auth import current_user, vouch
from dashboard.catalog import current, params_from
from dashboard.errors import InputError, UnsupportedModel
from dashboard.models.families import family_for
from dashboard.projection.joint import EQUAL, RATIOS


def resolve_request(
    model: str,
    corpus: str,
    method: str,
    dims: int,
    options: list[str],
    scale: int = EQUAL,
    generate: int = 0,
) -> dict:
    """The request every job and figure works from; an "error" entry says what to fix."""
    svc = current()
    user = current_user()
    try:
        subject, corpus_obj = svc.subject(model, corpus, user, generate=int(generate or 0))
        ratio = RATIOS[scale] if isinstance(scale, int) and 0 <= scale < len(RATIOS) else 1.0
        params = params_from(method, dims, options, svc.settings.seed, ratio)
    except (InputError, ValueError) as exc:
        return {"error": str(exc)}
    spec = subject.model
    request = {
        "model": model,
        "corpus": corpus,
        "params": params.to_dict(),
        "key": subject.matrix_key(params),
        "generate": subject.generate,
        "n_layers": spec.n_layers,
        "n_heads": spec.n_heads,
        "title": f"{spec.name} · {corpus_obj.name}"
        + (f" + {subject.generate} greedy tokens" if subject.generate else "")
        + f" · {params.label()}",
        "info": (
            f"{spec.name}: {spec.family} {spec.architecture}, {spec.n_layers} layers × {spec.n_heads} "
            f"heads, d_head {spec.head_dim}, {spec.n_params / 1e6:.1f}M parameters. "
            f"Source: {spec.source}. {spec.note + ' ' if spec.note else ''}"
            f"Corpus: {corpus_obj.name} — {corpus_obj.credit}."
        ),
    }
    return vouch(request, user, svc.settings.secret_key)


def with_previous(new: dict, shown: dict | None) -> dict:
    """The request, remembering the map parameters of the run shown before it (the "run"
    alignment's reference) when only those changed: same model, corpus and continuation, so
    the same points."""
    if new.get("error") or not shown or shown.get("error"):
        return new
    if shown["key"] == new["key"]:
        return {**new, "previous": shown.get("previous")} if shown.get("previous") else new
    same = ("model", "corpus", "generate")
    if any(shown.get(name) != new.get(name) for name in same):
        return new
    return {**new, "previous": shown["params"]}


@callback(Output(ids.GENERATE, "disabled"), Input(ids.MODEL, "value"))
def generate_control(model):
    """Only a causal model continues sentences (the group's hint says so); off for another."""
    try:
        return not family_for(current().registry.get(model).architecture).causal
    except (KeyError, UnsupportedModel):
        return True


clientside_callback(  # the navbar's model facts: what fits shows, the rest on hover
    ClientsideFunction(namespace="qkatlas", function_name="modelInfo"),
    Output(ids.MODEL_INFO, "children"),
    Output(ids.MODEL_INFO, "title"),
    Input(ids.REQUEST, "data"),
)
