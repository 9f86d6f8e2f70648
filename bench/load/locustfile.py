"""Locust users of QK Atlas: signed-in people going through the dashboard as in a browser.

`Visitor` (most users): page load with the default matrix, a colour change, a search, a head
opened from a matrix click, links hovered and a point pinned, the sentence view (hover, scope),
back to the matrix; every few visits a pasted corpus (its own matrix job) and back.
`UmapMapper` (one user): pastes a corpus of its own and asks for its UMAP matrix, again and
again, so a UMAP matrix of another corpus is always being computed on the shared pool.

Every request goes through `bench/load/dash_client.py` (the renderer's payloads). Settings come
from the environment (bench/load/run.py sets them): QKATLAS_LOAD_SECRET, QKATLAS_LOAD_GROUP,
QKATLAS_LOAD_SEED, QKATLAS_LOAD_PASTE (the share of visits that paste a corpus, 0.25).
Request names start with the kind of callback: "figure: …", "control: …", "poll: …",
"page: …"; the UMAP user's start with "umap-user ".
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import gevent
from locust import HttpUser, between, task

from bench.load.dash_client import DashClient, Malformed
from bench.load.retry import closed_unanswered

JOB_TIMEOUT = 180  # s a user waits for a matrix job on a page before leaving it
_numbers = itertools.count(1)

COLOURS = ("position", "sentence", "frequency", "type", "discrete", "role")
SEARCHES = (("the", []), ("ing", []), ("^[0-9]+$", ["regex"]), ("city", ["whole"]))
WORDS = [
    "river",
    "city",
    "music",
    "school",
    "garden",
    "winter",
    "history",
    "market",
    "science",
    "village",
    "language",
    "painter",
    "museum",
    "island",
    "station",
    "library",
    "mountain",
    "theatre",
    "engine",
    "harbour",
    "forest",
    "bridge",
    "festival",
    "kingdom",
    "novel",
    "castle",
    "valley",
    "railway",
    "church",
    "football",
    "university",
]
# a handful of short pastes: each user's copy is its own corpus (computed once, then cached)
PASTES = tuple(
    "\n".join(
        f"The {a} near the {b} was built before the {c}."
        for a, b, c in zip(WORDS[i:], WORDS[i + 3 :], WORDS[i + 7 :], strict=False)
    )
    for i in range(0, 9, 3)
)


def sentences(rng: random.Random, n: int) -> str:
    return "\n".join(
        " ".join(["The", *rng.sample(WORDS, 9)]).capitalize() + f" in {1800 + rng.randrange(220)}."
        for _ in range(n)
    )


# A request this slow is stuck somewhere: every web worker's threads are dumped (py-spy, when
# the run asked for it with QKATLAS_LOAD_DUMPS), at most once a minute, to see where.
STUCK_AFTER_S = 30
_last_dump = [0.0]


def dump_stacks(name: str) -> None:
    folder, pid = os.environ.get("QKATLAS_LOAD_DUMPS"), os.environ.get("QKATLAS_LOAD_WEB_PID")
    spy = Path(sys.executable).parent / "py-spy"
    if not folder or not pid or not spy.exists() or time.monotonic() - _last_dump[0] < 60:
        return
    _last_dump[0] = time.monotonic()
    stamp = time.strftime("%H%M%S")
    with open(Path(folder) / f"stuck-{stamp}.txt", "w") as out:
        out.write(f"{name}: no answer after {STUCK_AFTER_S} s\n\n")
        out.flush()
        subprocess.run(
            [str(spy), "dump", "--pid", pid, "--subprocesses", "--locals"],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=60,
            check=False,
        )


class AtlasUser(HttpUser):
    abstract = True
    label = ""

    def on_start(self) -> None:
        self.number = next(_numbers)
        self.rng = random.Random(int(os.environ.get("QKATLAS_LOAD_SEED", "0")) + self.number)
        user = f"{self.label or 'user'}{self.number:02d}@example.com"
        headers = {
            "X-Forwarded-Email": user,
            "X-Forwarded-Groups": os.environ.get("QKATLAS_LOAD_GROUP", "ml-team"),
            "X-Proxy-Secret": os.environ.get("QKATLAS_LOAD_SECRET", ""),
        }
        self.dash = DashClient(self.http, headers)

    def http(self, method: str, path: str, name: str, **kwargs) -> tuple[int, str]:
        """One request, counted by locust under `name`; a failure for anything but 200/204.
        Sent once more, as browsers do, when the server had closed the kept-alive connection it
        went out on (counted apart, as "retry")."""
        prefix = f"{self.label} " if self.label else ""
        watch = gevent.spawn_later(STUCK_AFTER_S, dump_stacks, f"{prefix}{name}")
        try:
            for attempt in (1, 2):
                with self.client.request(
                    method, path, name=prefix + name, catch_response=True, timeout=120, **kwargs
                ) as response:
                    status = response.status_code
                    if status == 0 and attempt == 1 and closed_unanswered(response.error):
                        response.request_meta["request_type"] = "RETRY"
                        response.failure(f"sent again: {response.error}"[:300])
                        continue
                    if status == 0:  # no answer: which (a reset, a timeout, a refusal)
                        error = response.error
                        response.failure(f"no answer: {type(error).__name__}: {error}"[:300])
                    elif status not in (200, 204):
                        response.failure(f"HTTP {status}")
                    elif (
                        status == 200 and path.startswith("/_dash") and not _json_ok(response.text)
                    ):
                        response.failure("malformed: not JSON")
                    return status, response.text
        finally:
            watch.kill(block=False)
        raise AssertionError("unreachable: the second attempt returns")

    def checked(self, step) -> None:
        """A step whose answers the renderer could not use is counted as a malformed failure."""
        try:
            step()
        except Malformed as exc:
            self.environment.events.request.fire(
                request_type="CHECK",
                name=f"malformed: {str(exc)[:60]}",
                response_time=0,
                response_length=0,
                exception=exc,
                context={},
            )

    def no_alert(self, when: str) -> None:
        """The page's alert says what went wrong (an unknown corpus, a failed job): in this
        scenario it must stay hidden. Shown, it counts as a failure ("alert: …")."""
        if self.dash.props.get(("app-alert", "hidden")) is False:
            text = str(self.dash.props.get(("app-alert", "children")))[:200]
            self.environment.events.request.fire(
                request_type="CHECK",
                name=f"alert {when}",
                response_time=0,
                response_length=0,
                exception=AssertionError(text),
                context={},
            )

    def clicks(self, cid: str) -> dict:
        return {(cid, "n_clicks"): (self.dash.props.get((cid, "n_clicks")) or 0) + 1}


class Visitor(AtlasUser):
    wait_time = between(1, 3)

    @task
    def visit(self) -> None:
        self.checked(self.journey)

    def journey(self) -> None:
        dash, rng = self.dash, self.rng
        dash.load_page("", JOB_TIMEOUT)  # the default matrix, cached after the first visit
        self.no_alert("after the page load")
        self.wait()
        dash.act({("ctl-color", "value"): rng.choice(COLOURS)})
        self.wait()
        text, options = rng.choice(SEARCHES)
        dash.act({("search-options", "value"): options, ("search-text", "value"): text})
        self.wait()
        dash.act({("search-text", "value"): ""})
        shown = dash.props.get(("matrix-shown", "data")) or {}
        request = dash.props.get(("job-request", "data")) or {}
        if shown.get("n_points") and request.get("n_layers"):
            layer, head = rng.randrange(request["n_layers"]), rng.randrange(request["n_heads"])
            point = head * shown["n_points"] + rng.randrange(shown["n_points"])
            click = {"points": [{"curveNumber": layer, "pointNumber": point, "x": 0, "y": 0}]}
            dash.act({("matrix-graph", "clickData"): click})  # opens the head
            for _ in range(3):  # hovering draws the strongest links
                hover = {"points": [{"curveNumber": 0, "pointNumber": rng.randrange(60)}]}
                dash.act({("head-graph", "hoverData"): hover})
            pin = {"points": [{"curveNumber": 0, "pointNumber": rng.randrange(60)}]}
            dash.act({("head-graph", "clickData"): pin})
            self.wait()
            dash.act(self.clicks("head-to-sentence"))  # the sentence view
            for index in range(2):
                focus = {"points": [{"curveNumber": 0, "customdata": ["query", index]}]}
                dash.act({("sentence-graph", "hoverData"): focus})
            dash.act({("sentence-scope", "value"): rng.choice(["layer", "head"])})
            self.wait()
            dash.act(self.clicks("sentence-back"))
            dash.act(self.clicks("head-back"))
        if rng.random() < float(os.environ.get("QKATLAS_LOAD_PASTE", "0.25")):
            # a pasted corpus: its own matrix job, then back
            dash.silently({("data-text", "value"): rng.choice(PASTES)})
            dash.act(self.clicks("data-submit"), JOB_TIMEOUT)
            self.no_alert("after pasting a corpus")
            self.wait()
            dash.act({("ctl-corpus", "value"): "default"}, JOB_TIMEOUT)


class UmapMapper(AtlasUser):
    """Keeps a UMAP matrix of a corpus of its own computing on the shared pool."""

    fixed_count = 1
    label = "umap-user"
    wait_time = between(1, 2)

    @task
    def map_with_umap(self) -> None:
        self.checked(self.umap)

    def umap(self) -> None:
        dash = self.dash
        dash.load_page("", JOB_TIMEOUT)
        dash.silently({("data-text", "value"): sentences(self.rng, 40)})
        dash.act(self.clicks("data-submit"), JOB_TIMEOUT)  # its PCA matrix first
        self.no_alert("after pasting a corpus")
        dash.act({("ctl-method", "value"): "umap"}, 3600)  # until done, or the run ends
        self.no_alert("after its UMAP matrix")


def _json_ok(text: str) -> bool:
    import json

    try:
        json.loads(text)
    except ValueError:
        return False
    return True
