"""The control bar: model, corpus, projection, options, colour scheme."""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.figures.colors import SCHEMES, TEXT_SCHEMES
from dashboard.models.corpora import DEFAULT_CORPUS
from dashboard.models.registry import DEFAULT_MODEL, Registry
from dashboard.projection.methods import METHODS


def _field(label: str, control, hint: str = "") -> html.Div:
    return html.Div(
        [html.Label(label, className="field-label", title=hint), control], className="field"
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


def controls(registry: Registry) -> html.Div:
    return html.Div(
        [
            _field(
                "Model",
                dcc.Dropdown(
                    id=ids.MODEL,
                    options=model_options(registry),
                    value=DEFAULT_MODEL,
                    clearable=False,
                    className="dd-model",
                ),
            ),
            _field(
                "Corpus",
                dcc.Dropdown(
                    id=ids.CORPUS,
                    options=[{"label": "Wikipedia sample (default)", "value": DEFAULT_CORPUS}],
                    value=DEFAULT_CORPUS,
                    clearable=False,
                    className="dd-corpus",
                ),
            ),
            _field(
                "Projection",
                dcc.RadioItems(
                    id=ids.METHOD,
                    options=[{"label": v, "value": k} for k, v in METHODS.items()],
                    value="pca",
                    inline=True,
                ),
                "PCA is instant; t-SNE and UMAP fill in head by head",
            ),
            _field(
                "Dimensions",
                dcc.RadioItems(
                    id=ids.DIMS,
                    options=[{"label": "2D", "value": 2}, {"label": "3D", "value": 3}],
                    value=2,
                    inline=True,
                ),
                "3D opens rotatable in the single-head view; the matrix shows x–y",
            ),
            _field(
                "Options",
                dcc.Checklist(
                    id=ids.OPTIONS,
                    options=[
                        {"label": "Key translation", "value": "translate"},
                        {"label": "Norm scaling", "value": "scale"},
                    ],
                    value=["translate", "scale"],
                    inline=True,
                ),
                "Neither changes any attention weight: see “What this map shows”",
            ),
            _field(
                "Search tokens",
                html.Div(
                    [
                        dcc.Input(
                            id=ids.SEARCH,
                            type="search",
                            placeholder="e.g. the, ing, paris",
                            debounce=0.4,  # searches as you type, once you pause
                            className="search-box",
                            maxLength=200,
                        ),
                        dcc.Checklist(
                            id=ids.SEARCH_OPTIONS,
                            options=[
                                {"label": "regex", "value": "regex"},
                                {"label": "case", "value": "case"},
                                {"label": "whole token", "value": "whole"},
                            ],
                            value=[],
                            inline=True,
                        ),
                    ],
                    className="row",
                ),
                "Searches as you type: highlights every matching query and key in the matrix "
                "and the open head",
            ),
            _field(
                "Colour",
                dcc.RadioItems(
                    id=ids.COLOR,
                    options=[{"label": SCHEMES[k].label, "value": k} for k in TEXT_SCHEMES],
                    value="role",
                    inline=True,
                ),
            ),
        ],
        className="controls",
    )
