"""The navbar: the sidebar toggle, the title, the model's facts, the running job, the user."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard import ids
from dashboard.components.panels import job_panel


def user_badge(user: str | None, sign_out: bool) -> list:
    """Who is signed in (from the trusted identity), and a sign-out link for in-app sign-in."""
    if not user:
        return []
    badge = [html.Span(user, className="nav-user-name", title="signed in")]
    if sign_out:
        badge.append(html.A("Sign out", href="/auth/logout", className="nav-sign-out"))
    return badge


def navbar(user: str | None = None, sign_out: bool = False) -> dbc.Navbar:
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
                html.Div(user_badge(user, sign_out), id=ids.USER, className="nav-user"),
            ],
            fluid=True,
            className="nav-inner",
        ),
        color="dark",
        dark=True,
        sticky="top",
        className="navbar-app",
    )
