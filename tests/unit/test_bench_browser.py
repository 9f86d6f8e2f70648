"""bench/browser.py's pure parts and their report: the summary of repeats, the milestones of a
navigation, the static floor page, the PASS/FAIL lines, and where a partial run is written.
No browser and no timing here: the section itself runs in `python -m bench.run`."""

import json

import pytest

from bench import report
from bench.browser import (
    APP,
    CLICK,
    FLOOR,
    BrowserResult,
    Timing,
    breakdown,
    floor_page,
)
from bench.run import SECTIONS, output_for

BROWSER_CHECKS = ("the app − a static page", "navigation → every point", "head click")


def result(app: list[float], floor: list[float], click: list[float]) -> BrowserResult:
    return BrowserResult(
        chromium="chrome 1.2.3",
        webgl="SwiftShader",
        n_points=216_000,
        head_points=8_802,
        plotly_js="plotly.min.js (4,815,814 bytes)",
        figure_bytes=2_000_000,
        box=(1200, 640),
        timings=[Timing(APP, app), Timing(FLOOR, floor), Timing(CLICK, click)],
        breakdown={"app": [("every point drawn", 2500.0)]},
    )


def test_breakdown_names_the_callback_the_figure_waited_for_and_each_matrix_draw():
    trace = {
        # (start, end, output): the figure's request starts after both others ended
        "callbacks": [
            [400.0, 450.0, "app-view.data"],
            [460.0, 700.0, "job-request.data"],
            [710.0, 900.0, "..matrix-graph.figure...matrix-shown.data.."],
        ],
        "plots": [
            [950.0, "afterplot", "matrix-graph"],
            [960.0, "afterplot", "head-graph"],
            [2000.0, "afterplot", "matrix-graph"],
        ],
    }
    named = dict(breakdown({"dcl": 100.0, "trace": trace, "drawn": 2500.0}))
    assert named["last callback answered before it: job-request.data"] == 700.0
    assert named["Plotly drew the matrix graph (1 of 2)"] == 950.0
    assert named["Plotly drew the matrix graph (2 of 2)"] == 2000.0
    assert not any("head-graph" in what for what in named)


def test_timing_summarises_its_repeats():
    t = Timing("x", [3.0, 1.0, 2.0, 10.0])
    assert (t.n, t.median, t.low, t.high) == (4, 2.5, 1.0, 10.0)


def test_breakdown_names_the_figure_callback_and_what_came_before_it():
    milestones = {
        "dcl": 300.0,
        "plotly": [100.0, 900.0],
        "figure": None,
        # (start, end, decoded bytes): the largest response is the figure's
        "callbacks": [[1000.0, 1100.0, 500], [1050.0, 1200.0, 900], [1300.0, 2100.0, 1_500_000]],
        "dash": [["layout", 700.0], ["dependencies", 710.0]],
        "drawn": 2600.0,
    }
    rows = breakdown(milestones)
    assert [ms for _, ms in rows] == sorted(ms for _, ms in rows)
    named = dict(rows)
    assert named["matrix figure requested (2 callback requests before it)"] == 1300.0
    assert named["matrix figure received (1.50 MB decoded)"] == 2100.0
    assert named["first callback request sent"] == 1000.0
    assert named["plotly.min.js loaded"] == 900.0
    assert named["Dash's /_dash-layout received"] == 700.0
    assert rows[-1][1] == 2600.0


def test_breakdown_of_the_static_page_has_its_figure_file():
    rows = dict(
        breakdown(
            {
                "dcl": 50.0,
                "plotly": [10.0, 400.0],
                "figure": [5.0, 300.0, 2_000_000],
                "callbacks": [],
                "drawn": 900.0,
            }
        )
    )
    assert rows["figure.json received (2.00 MB)"] == 300.0
    assert not any("callback" in what for what in rows)


def test_floor_page_draws_in_the_apps_box_with_its_config():
    config = {"displaylogo": False, "plotGlPixelRatio": 1, "responsive": True}
    html = floor_page(1234, 567, config)
    assert "width:1234px;height:567px" in html
    assert json.dumps(config) in html
    assert '<div id="matrix-graph">' in html  # where the tests' probe looks for the graph
    # the figure is fetched before plotly.js's script tag, so both download at once
    assert html.index("fetch('figure.json')") < html.index('src="plotly.min.js"')


@pytest.mark.parametrize(
    ("app", "floor", "click", "verdicts"),
    [
        ([1.2, 1.4, 1.3], [1.0, 1.0, 0.9], [0.2, 0.25, 0.3], ["PASS", "PASS", "PASS"]),
        ([7.3, 7.0, 7.9], [5.4, 5.0, 5.6], [0.5, 0.4, 0.6], ["FAIL", "FAIL", "FAIL"]),
    ],
)
def test_browser_floors_judge_the_medians(app, floor, click, verdicts):
    floors = [f for f in report.floors(full(result(app, floor, click))) if is_browser(f)]
    assert [f.verdict for f in floors] == verdicts
    gap, absolute, clicked = (f.value for f in floors)
    assert gap == pytest.approx(sorted(app)[1] - sorted(floor)[1])
    assert absolute == sorted(app)[1] and clicked == sorted(click)[1]


def test_without_the_section_each_browser_goal_is_a_not_measured_line():
    floors = [f for f in report.floors(full(None)) if is_browser(f)]
    assert len(floors) == len(BROWSER_CHECKS)
    assert all(f.value is None and f.verdict == "FAIL" for f in floors)
    assert not any(is_browser(report.Floor(c, None, 0, "")) for c, *_ in report.NOT_MEASURED)


def test_results_page_shows_the_browser_section():
    text = report.to_markdown(full(result([1.2, 1.4, 1.3], [1.0, 1.1, 0.9], [0.2])))
    assert "## 9. The browser (headless Chromium)" in text
    assert "| chrome 1.2.3 |" in text
    assert f"| {APP} | 3 | 1.30 s | 1.20 s | 1.40 s |" in text
    assert "App − static page (medians): 0.30 s." in text


def test_a_partial_run_never_writes_the_whole_runs_file():
    assert output_for(list(SECTIONS)) == report.RESULTS
    partial = output_for(["browser"])
    assert partial.name == "results-browser.md" and partial.parent == report.RESULTS.parent


def full(browser: BrowserResult | None) -> report.Results:
    return report.Results(machine={}, quick=False, command="test", browser=browser)


def is_browser(floor) -> bool:
    return any(check in floor.check for check in BROWSER_CHECKS)
