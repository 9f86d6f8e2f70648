"""bench/load's headless renderer: reading Dash's dependency strings and applying Patch answers
as dash-renderer does (the load test's payloads depend on both)."""

from __future__ import annotations

import json

from dash import Patch
from plotly.utils import PlotlyJSONEncoder

from bench.load.dash_client import apply_patch, parse_outputs, walk_layout


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
