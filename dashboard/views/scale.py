"""The norm scale as a visible trade-off: the open head's rho_full against the norm scale
(computed on the workers, views/analysis.py), and the presets that set the scale."""

from __future__ import annotations

from dash import Input, Output, State, callback, ctx, no_update

from dashboard import ids
from dashboard.figures.similarity import scale_curve_figure
from dashboard.projection.joint import EQUAL, RATIOS, READABLE, most_faithful_readable
from dashboard.views.context import failure, head_on_show

EXPLAIN = (
    "ρ_full: how well distance follows q·k in the head's own space (1 = a query's nearest keys "
    "are exactly its highest-scoring ones). Smaller keys are more faithful, but crowd together."
)


def render(view: dict | None, request: dict | None, analysis: dict | None):
    """(curve figure, note) for the open head; no_update elsewhere."""
    opened = head_on_show(view, request)
    if opened is None:
        return no_update, no_update
    context, layer, head = opened
    if context.subject.model.missing_head(layer, head):
        return {"data": [], "layout": {"height": 200}}, ""
    curve = context.scale_curve(layer, head)
    if curve is None:
        return {"data": [], "layout": {"height": 200}}, (
            failure(analysis, request) or "Measuring ρ_full at each scale…"
        )
    params = context.params
    current = params.key_ratio if params.scale else None
    figure = scale_curve_figure(curve["ratio"], curve["rho"], current, READABLE)
    best = most_faithful_readable(curve["ratio"], curve["rho"])
    if current is None:
        now = "Norm scaling is off (Options)."
    else:
        rho = float(curve["rho"][list(RATIOS).index(current)])
        now = f"Now: keys at {current:.2g}× the queries' norm, ρ_full {rho:.3f}."
    return figure, f"{now} Most faithful readable: {best:.2g}. {EXPLAIN}"


@callback(
    Output(ids.HEAD_SCALE_CURVE, "figure"),
    Output(ids.HEAD_SCALE_NOTE, "children"),
    Input(ids.HEAD_VIEW, "data"),
    Input(ids.HEAD_REQUEST, "data"),
    Input(ids.HEAD_ANALYSIS, "data"),
    prevent_initial_call=True,  # called when its view opens (views/url.py)
)
def update_curve(view, request, analysis):
    return render(view, request, analysis)


def preset(which: str, view: dict | None, request: dict | None, options: list[str] | None):
    """(slider index, options) a preset sets: equal norms, or the open head's most faithful
    readable scale; either turns norm scaling on."""
    options = sorted({*(options or []), "scale"})
    if which == "equal":
        return EQUAL, options
    opened = head_on_show(view, request)
    if opened is None:
        return no_update, no_update
    context, layer, head = opened
    curve = context.scale_curve(layer, head)
    if curve is None:
        return no_update, no_update
    return RATIOS.index(most_faithful_readable(curve["ratio"], curve["rho"])), options


@callback(
    Output(ids.SCALE, "value", allow_duplicate=True),
    Output(ids.OPTIONS, "value", allow_duplicate=True),
    Input(ids.HEAD_SCALE_EQUAL, "n_clicks"),
    Input(ids.HEAD_SCALE_FAITHFUL, "n_clicks"),
    State(ids.VIEW, "data"),
    State(ids.REQUEST, "data"),
    State(ids.OPTIONS, "value"),
    prevent_initial_call=True,
)
def apply_preset(_equal, _faithful, view, request, options):
    which = "equal" if ctx.triggered_id == ids.HEAD_SCALE_EQUAL else "faithful"
    return preset(which, view, request, options)
