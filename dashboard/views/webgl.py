"""WebGL or not: the browser says (assets/webgl.js, into the WEBGL store). Without it the matrix
(thousands of points per head, WebGL only) is replaced by what to enable; the single-head and
sentence views draw SVG instead."""

from __future__ import annotations

from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
)

from dashboard import ids
from dashboard.urlstate import parse

clientside_callback(
    ClientsideFunction(namespace="qkatlas", function_name="webgl"),
    Output(ids.WEBGL, "data"),
    Input(ids.URL, "pathname"),
)


def no_webgl_message(search: str | None) -> list:
    """What to enable, and what works meanwhile (with a link that keeps the URL's state)."""
    first_head = parse(search).open_head(0, 0).to_search()
    return [
        html.H3("The matrix needs WebGL, which is off in this browser"),
        html.P("Turn on hardware acceleration (WebGL) and reload this page:"),
        html.Ul(
            [
                html.Li(
                    "Chrome, Edge: Settings → System → “Use graphics acceleration when "
                    "available”, relaunch; chrome://gpu should then say “WebGL: Hardware "
                    "accelerated”."
                ),
                html.Li(
                    "Firefox: Settings → Performance → “Use hardware acceleration when "
                    "available”; in about:config, webgl.disabled must be false."
                ),
                html.Li(
                    "Safari: Settings → Advanced → “Show features for web developers”, then "
                    "Develop → Feature Flags → WebGL."
                ),
                html.Li(
                    "A remote desktop or a virtual machine may have no GPU: try another browser."
                ),
            ]
        ),
        html.P(
            [
                "Meanwhile the single-head and sentence views work without WebGL (drawn as SVG, "
                "slower): ",
                dcc.Link("open layer 0, head 0", href=first_head),
                ", or open another head by its link (…&view=head&layer=L&head=H).",
            ]
        ),
    ]


@callback(
    Output(ids.WEBGL_MESSAGE, "children"),
    Output(ids.WEBGL_MESSAGE, "hidden"),
    Output(ids.MATRIX_NOTE, "hidden"),  # "click a head to open it": not without the matrix
    Input(ids.WEBGL, "data"),
    State(ids.URL, "search"),  # the page's link, kept in the message's (not a call per link)
)
def webgl_notice(webgl, search):
    if webgl is not False:  # True, or not known yet: draw
        return [], True, False
    return no_webgl_message(search), False, True
