"""bench/load's headless renderer: reading Dash's dependency strings and applying Patch answers
as dash-renderer does (the load test's payloads depend on both)."""

from __future__ import annotations

import json

from dash import Patch
from plotly.utils import PlotlyJSONEncoder

from bench.load.dash_client import (
    GATE_PARTS,
    Callback,
    DashClient,
    apply_patch,
    parse_outputs,
    walk_layout,
)


def test_outputs_of_a_multi_output_callback_keep_their_duplicate_marks():
    outputs = parse_outputs("..app-url.search...ctl-corpus.value@ab12...job-result.data..")
    assert outputs == [
        {"id": "app-url", "property": "search"},
        {"id": "ctl-corpus", "property": "value@ab12"},
        {"id": "job-result", "property": "data"},
    ]
    assert parse_outputs("legend.children") == [{"id": "legend", "property": "children"}]


def test_a_patch_answer_assigns_into_the_figure_it_updates():
    figure = {"data": [{"x": [0]}, {"x": [1]}], "layout": {"title": {"text": "old"}}}
    patch = Patch()
    patch["data"][1] = {"x": [9]}
    patch["layout"]["title"]["text"] = "new"
    answer = json.loads(json.dumps(patch, cls=PlotlyJSONEncoder))  # as it comes over HTTP
    updated = apply_patch(figure, answer)
    assert updated == {"data": [{"x": [0]}, {"x": [9]}], "layout": {"title": {"text": "new"}}}
    assert figure["data"][1] == {"x": [1]}, "the old figure is left as it was"
    assert apply_patch(figure, {"data": []}) == {"data": []}, "a whole figure replaces"


def test_the_layout_walk_finds_nested_components_props():
    layout = {
        "type": "Div",
        "props": {
            "children": [
                {"type": "Store", "props": {"id": "a", "data": {"x": 1}}},
                {"type": "Div", "props": {"children": {"type": "Input", "props": {"id": "b"}}}},
            ]
        },
    }
    props: dict = {}
    walk_layout(layout, props)
    assert props == {("a", "data"): {"x": 1}, ("a", "id"): "a", ("b", "id"): "b"}


def _listener():
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    return server, f"http://127.0.0.1:{server.getsockname()[1]}/"


def _error_of(url: str, timeout: float = 5) -> BaseException:
    import requests

    try:
        requests.post(url, data=b"{}", timeout=timeout)
    except requests.RequestException as error:
        return error
    raise AssertionError("the request was answered")


def test_only_a_connection_closed_without_an_answer_is_sent_again():
    """A browser sends a request again when the server closed the connection under it before
    answering (a kept-alive connection past its keepalive); the load users do the same, and
    nothing else: a refused connection or a timeout stays a failure."""
    import threading

    from bench.load.retry import closed_unanswered

    server, url = _listener()

    def close_unanswered() -> None:
        connection, _ = server.accept()
        connection.recv(65536)
        connection.close()

    threading.Thread(target=close_unanswered, daemon=True).start()
    assert closed_unanswered(_error_of(url))

    silent, silent_url = _listener()  # accepts (the kernel's backlog) and never answers
    assert not closed_unanswered(_error_of(silent_url, timeout=0.5))
    silent.close()
    server.close()
    assert not closed_unanswered(_error_of(url))  # nobody listens: refused
    assert not closed_unanswered(None)


def test_the_gates_pass_on_what_assets_views_js_passes_on():
    """The load test's renderer runs no JavaScript: it passes a view's gate stores on as
    assets/views.js does (or the head view's callbacks would never run under load)."""
    import re
    from pathlib import Path

    views_js = (Path(__file__).parents[2] / "assets" / "views.js").read_text()
    declared = {
        name: tuple(re.findall(r"'(\w+)'", parts))
        for name, parts in re.findall(r"(\w+): gates\(\[([^\]]*)\]\)", views_js)
    }
    assert declared == GATE_PARTS

    spec = {
        "output": "..gate-head-view.data...gate-head-request.data...gate-other-view.data..",
        "inputs": [
            {"id": "app-view", "property": "data"},
            {"id": "job-request", "property": "data"},
            {"id": "job-progress", "property": "data"},
            {"id": "app-url", "property": "search"},
        ],
        "state": [],
        "clientside_function": {"namespace": "qkatlas", "function_name": "viewGates"},
    }
    gates = Callback(spec, parse_outputs(spec["output"]))
    client = DashClient(http=None, headers={})
    head, matrix, request = {"view": "head", "layer": 1}, {"view": "matrix"}, {"key": "r"}
    client.props.update({("app-view", "data"): matrix, ("job-request", "data"): request})
    assert client._gates(gates, GATE_PARTS["viewGates"]) == {}, "the matrix opens no gate"
    client.props[("app-view", "data")] = head
    assert client._gates(gates, GATE_PARTS["viewGates"]) == {
        ("gate-head-view", "data"): head,
        ("gate-head-request", "data"): request,
        ("gate-other-view", "data"): head,
    }, "opening: every part"
    assert client._gates(gates, GATE_PARTS["viewGates"]) == {}, "nothing changed: nothing passed"
    client.props[("job-request", "data")] = {"key": "s"}
    assert client._gates(gates, GATE_PARTS["viewGates"]) == {
        ("gate-head-request", "data"): {"key": "s"}
    }
