"""The load scenario, short (bench/load): a few signed-in users for a minute against the
deployed form — gunicorn (4 web workers), a Dask pool started with Dask's own commands, proxy
sign-in — each request checked as the browser's renderer would use it. Correctness only: no 5xx,
every answer well-formed, nothing left running; never timing (bench/results-load.md has those).

It runs `python -m bench.load.run` in its own process: locust patches the standard library with
gevent, which must not leak into the test session."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.deploy.servers import ROOT

pytestmark = [pytest.mark.load, pytest.mark.slow]
USERS = 5
SECONDS = 30  # every user goes through the whole scenario (a visit takes ~10 s)
WEB_WORKERS = 4


@pytest.fixture(scope="module")
def short_run(tmp_path_factory) -> tuple[dict, str]:
    folder = tmp_path_factory.mktemp("load")
    out = folder / "result.json"
    args = [
        *(sys.executable, "-m", "bench.load.run", "--no-umap"),
        *("--users", str(USERS), "--duration", str(SECONDS), "--spawn-rate", str(USERS)),
        *("--web-workers", str(WEB_WORKERS), "--pool-workers", "1", "--sample-every", "20"),
        *("--folder", str(folder / "servers"), "--json", str(out)),
        # a smaller default corpus keeps the warm-up short; no numba warm-up without UMAP
        *("--env", "QKATLAS_CORPUS_SENTENCES", "20", "--env", "QKATLAS_WARM_UMAP", "0"),
        # every visit pastes a corpus as a signed-in user (that once said "unknown corpus")
        *("--env", "QKATLAS_LOAD_PASTE", "1"),
    ]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    web_log = (folder / "servers" / "gunicorn.log").read_text(errors="replace")
    return json.loads(out.read_text()), web_log


def whole_run(short_run) -> dict:
    return short_run[0]["all"]


def test_every_user_went_through_the_whole_scenario(short_run):
    result = whole_run(short_run)
    kinds = result["by_kind"]
    assert kinds["page"]["n"] >= 3 * USERS, "each user loaded the page (page, layout, deps)"
    for kind in ("control", "figure", "poll"):
        assert kinds[kind]["n"] > 0, f"no {kind} callback was called"
    called = result["count_by_name"]
    for graph in ("matrix-graph", "head-graph", "sentence-graph"):
        assert any(name.startswith(f"figure: {graph}.figure") for name in called), sorted(called)
    assert "figure: head-graph.figure+1 <- head-graph" in called, "hovering never drew links"
    # through the head view's gate, which the headless renderer passes on as the browser does
    assert any(name.startswith("figure: head-figure.data") for name in called), "no head opened"
    assert "control: data-corpora.data+2 <- data-submit" in called, "no corpus was pasted"


def test_no_server_error_no_alert_and_every_answer_well_formed(short_run):
    result, web_log = whole_run(short_run), short_run[1]
    assert result["http_5xx"] == 0, result["failure_examples"]
    assert result["malformed"] == 0, result["failure_examples"]
    assert result["failures"] == 0, result["failure_examples"]
    assert set(result["statuses"]) <= {"0", "200", "204"}, result["statuses"]
    assert "Traceback" not in web_log


def test_nothing_is_left_running(short_run):
    result, _ = short_run
    assert result["zombies"] == []
    assert result["leftover_processes"] == []


def test_the_load_generator_watches_itself(short_run):
    """A starved client makes answered requests time out: the run records its own stalls and
    counts the unanswered requests the same way as the statuses do."""
    result, _ = short_run
    client = result["client"]
    assert client["client_cpu_s"] > 0
    assert client["unanswered"] == result["all"]["statuses"].get("0", 0)
    assert client["unanswered_during_a_stall"] <= client["unanswered"]
    assert client["stalls"] == len(client["first_stalls"]) or client["stalls"] > 50
