"""The navbar: the sidebar toggle, the title, the model's facts, the running job, the user."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import ids
from dashboard.components.panels import job_panel


def navbar() -> dbc.Navbar:
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.Button(
                    "☰",
                    id=ids.SIDEBAR_TOGGLE,
                    color="dark",
                    className="sidebar-toggle",
                    title="Show or hide the settings",
                ),
                dbc.NavbarBrand(
                    [
                        html.Span("QK Atlas", className="brand-name"),
                        html.Span("how every attention head matches queries to keys"),
                    ],
                    className="brand",
                ),
                # filled by a callback (views/request.py): model and corpus facts
                html.Div(id=ids.MODEL_INFO, className="model-info"),
                job_panel(),
                html.Div(id=ids.USER, className="nav-user"),
            ],
            fluid=True,
            className="nav-inner",
        ),
        color="dark",
        dark=True,
        sticky="top",
        className="navbar-app",
    )
