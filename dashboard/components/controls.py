"""The left sidebar: model, corpus (and your own data), projection, options, colour, search.

The order is AttentionViz's own: what is mapped first, then how, then how it is coloured.
The sidebar collapses (the navbar's ☰ button) to give the open view the whole width.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids
from dashboard.cache_keys import MAX_GENERATE
from dashboard.components.panels import data_panel
from dashboard.figures.colors import SCHEMES, TEXT_SCHEMES
from dashboard.models.corpora import DEFAULT_CORPUS
from dashboard.models.registry import DEFAULT_MODEL, Registry
from dashboard.projection.align import REFERENCES
from dashboard.projection.methods import METHODS

# Bootstrap's form-check look for dcc radio buttons and checkboxes (their inputs stay real
# <input>s: keyboard, screen readers and the browser tests use them as they are).
CHECK = {"inputClassName": "form-check-input", "labelClassName": "form-check-label"}


def _group(title: str, *children, hint: str = "") -> html.Div:
    return html.Div(
        [html.Div(title, className="side-title", title=hint), *children], className="side-group"
    )


def model_options(registry: Registry) -> list[dict]:
    options = [{"label": spec.label, "value": spec.id} for spec in registry.models.values()]
    options += [
        {
            "label": f"✕ {r.path.rsplit('/', 1)[-1]}: {r.reason}",
            "value": f"rejected:{r.path}",
            "disabled": True,
        }
        for r in registry.rejected
    ]
    return options


def controls(registry: Registry, max_upload_mb: float) -> list[html.Div]:
    return [
        _group(
            "Model",
            dcc.Dropdown(
                id=ids.MODEL,
                options=model_options(registry),
                value=DEFAULT_MODEL,
                clearable=False,
                className="dd-model",
                optionHeight=48,
            ),
        ),
        _group(
            "Corpus",
            dcc.Dropdown(
                id=ids.CORPUS,
                options=[{"label": "Wikipedia sample (default)", "value": DEFAULT_CORPUS}],
                value=DEFAULT_CORPUS,
                clearable=False,
                className="dd-corpus",
            ),
            data_panel(max_upload_mb),
        ),
        _group(
            "Projection",
            dcc.RadioItems(
                id=ids.METHOD,
                options=[{"label": v, "value": k} for k, v in METHODS.items()],
                value="pca",
                inline=True,
                className="checks",
                **CHECK,
            ),
            dcc.RadioItems(
                id=ids.DIMS,
                options=[{"label": "2D", "value": 2}, {"label": "3D", "value": 3}],
                value=2,
                inline=True,
                className="checks",
                **CHECK,
            ),
            hint="PCA is instant; t-SNE and UMAP fill in head by head. "
            "3D opens rotatable in the single-head view; the matrix shows x–y.",
        ),
        _group(
            "Options",
            dcc.Checklist(
                id=ids.OPTIONS,
                options=[
                    {"label": "Key translation", "value": "translate"},
                    {"label": "Norm scaling", "value": "scale"},
                ],
                value=["translate", "scale"],
                className="checks checks-stacked",
                **CHECK,
            ),
            hint="Neither changes any attention weight: see “What this map shows”",
        ),
        _group(
            "Align maps",
            dcc.RadioItems(
                id=ids.ALIGN,
                options=[{"label": v, "value": k} for k, v in REFERENCES.items()],
                value="none",
                className="checks checks-stacked",
                **CHECK,
            ),
            hint="Turns (rotates or mirrors) each map onto a reference, so stepping through "
            "heads or methods keeps the picture's orientation; distances are unchanged",
        ),
        _group(
            "Generated tokens",
            html.Label(
                [
                    "Continue each sentence by ",
                    dcc.Input(
                        id=ids.GENERATE,
                        type="number",
                        min=0,
                        max=MAX_GENERATE,
                        step=1,
                        value=0,
                        debounce=True,
                        className="form-control form-control-sm num",
                    ),
                    " greedy tokens",
                ],
                className="generate",
            ),
            dcc.Checklist(
                id=ids.GENERATED_HIDE,
                options=[{"label": "Hide them in the head view", "value": "hide"}],
                value=[],
                className="checks",
                **CHECK,
            ),
            hint=f"Causal models only (0–{MAX_GENERATE}): the generated tokens are mapped with "
            "the sentence's, in their own colour.",
        ),
        _group(
            "Colour",
            dcc.RadioItems(
                id=ids.COLOR,
                options=[{"label": SCHEMES[k].label, "value": k} for k in TEXT_SCHEMES],
                value="role",
                className="checks checks-stacked",
                **CHECK,
            ),
        ),
        _group(
            "Search tokens",
            dcc.Input(
                id=ids.SEARCH,
                value="",  # as the URL callback sets it: no search run as the page loads
                type="search",
                placeholder="e.g. the, ing, paris",
                debounce=0.4,  # searches as you type, once you pause
                className="form-control form-control-sm search-box",
                maxLength=200,
            ),
            dcc.Checklist(
                id=ids.SEARCH_OPTIONS,
                options=[
                    {"label": "regex", "value": "regex"},
                    {"label": "match case", "value": "case"},
                    {"label": "whole token", "value": "whole"},
                ],
                value=[],
                inline=True,
                className="checks",
                **CHECK,
            ),
            hint="Searches as you type: highlights every matching query and key in the matrix "
            "and the open head",
        ),
    ]


def sidebar(registry: Registry, max_upload_mb: float) -> dbc.Collapse:
    """Open by default; collapses sideways (its inner width is fixed, so nothing reflows)."""
    return dbc.Collapse(
        html.Aside(
            controls(registry, max_upload_mb),
            className="sidebar-inner",
            **{"aria-label": "Settings"},
        ),
        id=ids.SIDEBAR,
        is_open=True,
        dimension="width",
        className="sidebar",
    )
