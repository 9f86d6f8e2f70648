"""A headless Dash renderer for load tests: it sends the requests a browser's dash-renderer sends.

It reads the page's config (for the background-callback `endId`), /_dash-layout and
/_dash-dependencies, keeps every component's props, and when a prop changes (a user action, or
a callback's output) it calls the server-side callbacks that listen to it, in the renderer's
order (a callback waits while another pending callback still produces one of its inputs), with
the renderer's payload: output, outputs, inputs, state, changedPropIds. Background callbacks are
polled (`cacheKey`, `job`, inputs nulled) every `interval` ms; their progress updates props and
triggers callbacks as in the browser, and a new call of a job's callback sends `oldJob`.

Clientside callbacks do not run here: `CLIENTSIDE` says what each one would set (WebGL is on),
and the views' gates (assets/views.js) pass on what they hear as the browser's do.

Transport-agnostic: `http(method, path, name, **kwargs)` performs one request and returns
(status, body); the locust user passes its client, tests can pass `requests`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Http = Callable[..., tuple[int, str]]
PropId = tuple[str, str]  # (component id, property)

# What each clientside callback would set, by its output; None: nothing a server callback reads.
# The matrix box of a laptop's browser window (1366 × 768: a box 1240 px wide, 720 px of window).
CLIENTSIDE: dict[str, Any] = {"app-webgl.data": True, "matrix-viewport.data": [1240, 720]}
# The parts each gate function of assets/views.js hears, in its inputs' order (a unit test reads
# them from there): its outputs gate-<gate>-<part> pass a part on while that view is open.
GATE_PARTS = {
    "viewGates": ("view", "request", "progress", "search"),
    "analysisGates": ("view", "analysis", "metrics"),
}
FIGURE_OUTPUTS = (
    "matrix-graph.figure",
    "head-figure.data",  # the head's figure, through a store (the browser adds its hover text)
    "head-graph.figure",  # the hovered token's links patched in
    "sentence-graph.figure",
    "image-map.figure",
)


class Malformed(AssertionError):
    """A response that is not what the renderer expects: not JSON, or outputs nobody asked for."""


@dataclass
class Callback:
    spec: dict
    outputs: list[dict]  # {"id", "property"} with the "@hash" of allow_duplicate outputs

    @property
    def key(self) -> str:
        return self.spec["output"]

    @property
    def inputs(self) -> list[PropId]:
        return [(i["id"], i["property"]) for i in self.spec["inputs"]]

    @property
    def state(self) -> list[PropId]:
        return [(s["id"], s["property"]) for s in self.spec["state"]]

    @property
    def clean_outputs(self) -> list[PropId]:
        return [(o["id"], o["property"].split("@")[0]) for o in self.outputs]

    @property
    def name(self) -> str:
        """For the statistics: figure or control, and the first output it writes."""
        first = "{}.{}".format(*self.clean_outputs[0])
        kind = (
            "figure"
            if any(f"{i}.{p}" in FIGURE_OUTPUTS for i, p in self.clean_outputs)
            else "control"
        )
        more = f"+{len(self.outputs) - 1}" if len(self.outputs) > 1 else ""
        trigger = ",".join(i for i, _ in self.inputs[:1])
        return f"{kind}: {first}{more} <- {trigger}"

    @property
    def background(self) -> dict | None:
        return self.spec.get("background")


def parse_outputs(output: str) -> list[dict]:
    """The dependency's output string → [{"id", "property"}] (multi outputs are "..a.b...c.d..")."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    found = []
    for part in parts:
        cid, prop = part.rsplit(".", 1) if "@" not in part else _split_dup(part)
        found.append({"id": cid, "property": prop})
    return found


def _split_dup(part: str) -> tuple[str, str]:
    head, digest = part.split("@", 1)
    cid, prop = head.rsplit(".", 1)
    return cid, f"{prop}@{digest}"


def walk_layout(node: Any, props: dict[PropId, Any]) -> None:
    """Every component with an id: its props (children walked, not stored as props)."""
    if isinstance(node, list):
        for child in node:
            walk_layout(child, props)
        return
    if not isinstance(node, dict) or "props" not in node:
        return
    own = node["props"]
    cid = own.get("id")
    for name, value in own.items():
        if isinstance(cid, str) and name != "children":
            props[(cid, name)] = value
        if isinstance(value, dict | list):
            walk_layout(value, props)


@dataclass
class Job:
    callback: Callback
    payload: dict
    cache_key: str
    job: str
    next_poll: float
    started: float = field(default_factory=time.monotonic)


@dataclass
class DashClient:
    http: Http
    headers: dict[str, str]
    props: dict[PropId, Any] = field(default_factory=dict)
    callbacks: list[Callback] = field(default_factory=list)
    end_id: str | None = None
    jobs: list[Job] = field(default_factory=list)
    finished_jobs: list[dict] = field(default_factory=list)
    open_gates: dict[str, dict] = field(default_factory=dict)  # what each open gate passed

    # -- page load -------------------------------------------------------------------------
    def load_page(self, search: str = "", timeout: float = 120) -> None:
        status, page = self.http("GET", "/" + search, "page: /", headers=self.headers)
        match = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page)
        if status != 200 or not match:
            raise Malformed(f"GET / answered {status} without Dash's config")
        self.end_id = json.loads(match.group(1)).get("end_id")
        layout = self._get_json("/_dash-layout")
        deps = self._get_json("/_dash-dependencies")
        if not isinstance(layout, dict) or "props" not in layout or not isinstance(deps, list):
            raise Malformed("the layout or the dependencies are not what Dash serves")
        self.props = {}
        walk_layout(layout, self.props)
        self.callbacks = [
            Callback(d, [] if d.get("no_output") else parse_outputs(d["output"])) for d in deps
        ]  # a callback without outputs only acts in the browser: nothing a server reads
        self.jobs = []
        self.open_gates = {}
        # dcc.Location reports the address when it mounts
        self.props.update(
            {("app-url", "pathname"): "/", ("app-url", "search"): search, ("app-url", "hash"): ""}
        )
        initial = {
            cb.key: set()
            for cb in self.callbacks
            if not cb.spec["prevent_initial_call"]
            and all(i in self.props or i[0] in self._ids() for i in cb.inputs)
        }
        self.settle(initial, timeout)

    def _ids(self) -> set[str]:
        return {cid for cid, _ in self.props}

    def _get_json(self, path: str) -> Any:
        status, body = self.http("GET", path, f"page: {path}", headers=self.headers)
        if status != 200:
            raise Malformed(f"GET {path} answered {status}")
        try:
            return json.loads(body)
        except ValueError as exc:
            raise Malformed(f"GET {path} is not JSON") from exc

    # -- user actions ----------------------------------------------------------------------
    def act(self, changes: dict[PropId, Any], timeout: float = 120) -> None:
        """A user changes props (types, clicks, hovers): their callbacks run until all settle."""
        self.props.update(changes)
        self.settle(self._triggered(changes, exclude=None), timeout)

    def silently(self, changes: dict[PropId, Any]) -> None:
        """Props no callback listens to as an input (the text typed in a box)."""
        self.props.update(changes)

    def _triggered(self, changed: dict[PropId, Any], exclude: str | None) -> dict[str, set[str]]:
        pending: dict[str, set[str]] = {}
        for cb in self.callbacks:
            if cb.key == exclude:  # a callback's own outputs never re-trigger it
                continue
            hit = {f"{i}.{p}" for i, p in cb.inputs if (i, p) in changed}
            if hit:
                pending.setdefault(cb.key, set()).update(hit)
        return pending

    # -- the renderer's loop ---------------------------------------------------------------
    def settle(self, pending: dict[str, set[str]], timeout: float) -> None:
        """Runs pending callbacks (and polls jobs) until nothing is left or `timeout` passes."""
        by_key = {cb.key: cb for cb in self.callbacks}
        deadline = time.monotonic() + timeout
        while pending or self.jobs:
            if time.monotonic() > deadline:
                self.jobs = []  # the user leaves the page: the renderer stops polling
                return
            ready = self._ready(pending, by_key)
            if ready:
                key = ready[0]
                changed = pending.pop(key)
                self._call(by_key[key], changed, pending)
                continue
            job = min(self.jobs, key=lambda j: j.next_poll)
            time.sleep(max(0.0, job.next_poll - time.monotonic()))
            self._poll(job, pending)

    def _ready(self, pending: dict[str, set[str]], by_key: dict[str, Callback]) -> list[str]:
        """Callbacks none of whose inputs another pending callback still writes."""
        produced: dict[str, set[PropId]] = {k: set(by_key[k].clean_outputs) for k in pending}
        ready = []
        for key in pending:
            needs = set(by_key[key].inputs)
            if not any(needs & out for other, out in produced.items() if other != key):
                ready.append(key)
        return ready or list(pending)[:1]  # a cycle: the renderer runs one anyway

    def _payload(self, cb: Callback, changed: set[str]) -> dict:
        def vals(deps: list[PropId]) -> list[dict]:
            out = []
            for cid, prop in deps:
                item: dict[str, Any] = {"id": cid, "property": prop}
                if (cid, prop) in self.props:
                    item["value"] = self.props[(cid, prop)]
                out.append(item)
            return out

        multi = cb.key.startswith("..")
        payload = {
            "output": cb.key,
            "outputs": cb.outputs if multi else cb.outputs[0],
            "inputs": vals(cb.inputs),
            "changedPropIds": sorted(changed),
            "parsedChangedPropsIds": sorted(changed),
        }
        if cb.state:
            payload["state"] = vals(cb.state)
        return payload

    def _call(self, cb: Callback, changed: set[str], pending: dict[str, set[str]]) -> None:
        if cb.spec.get("clientside_function"):
            self._clientside(cb, pending)
            return
        payload = self._payload(cb, changed)
        args = [("endId", self.end_id)] if self.end_id else []
        if cb.background:
            for old in [j for j in self.jobs if j.callback.key == cb.key]:
                args.append(("oldJob", old.job))  # the renderer ends the superseded job
                self.jobs.remove(old)
        data = self._post(cb, payload, args, cb.name)
        if data is None:
            return
        if cb.background and "response" not in data:
            if "cacheKey" not in data or "job" not in data:
                raise Malformed(f"{cb.name}: a background call answered without a job: {data}")
            interval = cb.background.get("interval", 500) / 1000
            self.jobs.append(
                Job(cb, payload, data["cacheKey"], data["job"], time.monotonic() + interval)
            )
            return
        self._apply(cb, data, pending)

    def _poll(self, job: Job, pending: dict[str, set[str]]) -> None:
        cb = job.callback
        payload = json.loads(json.dumps(job.payload))
        for item in payload["inputs"] + payload.get("state", []):
            item["value"] = None  # as the renderer: a poll carries no values
        args = [("endId", self.end_id), ("cacheKey", job.cache_key), ("job", job.job)]
        data = self._post(cb, payload, args, f"poll: {cb.name}")
        if data is None:  # PreventUpdate: the job ended without output
            self.jobs.remove(job)
            return
        for side in ("sideUpdate", "progress"):
            if side in data:
                self._side_update(data[side], cb, pending)
        if "response" in data:
            self.jobs.remove(job)
            self.finished_jobs.append({"seconds": time.monotonic() - job.started})
            self._apply(cb, data, pending)
        else:
            job.next_poll = time.monotonic() + cb.background.get("interval", 500) / 1000

    def _post(self, cb: Callback, payload: dict, args: list, name: str) -> dict | None:
        query = "&".join(f"{k}={v}" for k, v in args if v)
        path = "/_dash-update-component" + (f"?{query}" if query else "")
        headers = {**self.headers, "Content-Type": "application/json"}
        status, body = self.http("POST", path, name, data=json.dumps(payload), headers=headers)
        if status == 204:
            return None
        if status != 200:
            raise Malformed(f"{name}: HTTP {status}: {body[:300]}")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise Malformed(f"{name}: the answer is not JSON: {body[:200]}") from exc
        if not isinstance(data, dict):
            raise Malformed(f"{name}: the answer is not a JSON object")
        return data

    def _apply(self, cb: Callback, data: dict, pending: dict[str, set[str]]) -> None:
        response = data.get("response")
        if not isinstance(response, dict):
            raise Malformed(f"{cb.name}: no response object: {str(data)[:200]}")
        allowed = set(cb.clean_outputs)
        changed: dict[PropId, Any] = {}
        for cid, values in response.items():
            if not isinstance(values, dict):
                raise Malformed(f"{cb.name}: {cid} has no props")
            for prop, value in values.items():
                if (cid, prop) not in allowed:
                    raise Malformed(f"{cb.name}: answered {cid}.{prop}, which it does not output")
                changed[(cid, prop)] = apply_patch(self.props.get((cid, prop)), value)
        self.props.update(changed)
        for key, hits in self._triggered(changed, exclude=cb.key).items():
            pending.setdefault(key, set()).update(hits)

    def _side_update(self, updates: dict, cb: Callback, pending: dict[str, set[str]]) -> None:
        changed: dict[PropId, Any] = {}
        for target, value in updates.items():
            cid, prop = target.rsplit(".", 1)
            changed[(cid, prop)] = apply_patch(self.props.get((cid, prop)), value)
        self.props.update(changed)
        for key, hits in self._triggered(changed, exclude=None).items():
            pending.setdefault(key, set()).update(hits)

    def _clientside(self, cb: Callback, pending: dict[str, set[str]]) -> None:
        function = (cb.spec.get("clientside_function") or {}).get("function_name")
        if function in GATE_PARTS:
            changed = self._gates(cb, GATE_PARTS[function])
        else:
            changed = {
                out: CLIENTSIDE[f"{out[0]}.{out[1]}"]
                for out in cb.clean_outputs
                if f"{out[0]}.{out[1]}" in CLIENTSIDE
            }
        self.props.update(changed)
        for key, hits in self._triggered(changed, exclude=cb.key).items():
            pending.setdefault(key, set()).update(hits)

    def _gates(self, cb: Callback, parts: tuple[str, ...]) -> dict[PropId, Any]:
        """What assets/views.js's gates pass on: each part of an open view's gate that changed,
        and every part as the gate opens or its view changes (a closed gate forgets)."""
        now = dict(zip(parts, (self.props.get(i) for i in cb.inputs), strict=True))
        shown = (now["view"] or {}).get("view", "matrix")
        before = dict(self.open_gates)
        passed: dict[PropId, Any] = {}
        for cid, prop in cb.clean_outputs:
            _, gate, part = cid.split("-", 2)  # gate-<gate>-<part> (dashboard/ids.py)
            key = f"{cb.key}:{gate}"
            if not now["view"] or (shown == "matrix" if gate == "other" else shown != gate):
                self.open_gates.pop(key, None)
                continue
            self.open_gates[key] = now
            was = before.get(key)
            if was is None or was["view"] != now["view"] or was[part] != now[part]:
                passed[(cid, prop)] = now[part]
        return passed


def apply_patch(old: Any, value: Any) -> Any:
    """A Patch() answer applied as the renderer does (the operations the app uses: Assign)."""
    if not (isinstance(value, dict) and value.get("__dash_patch_update")):
        return value
    target = json.loads(json.dumps(old)) if isinstance(old, dict | list) else {}
    for op in value.get("operations", []):
        location, params = op.get("location", []), op.get("params", {})
        if op.get("operation") != "Assign" or not location:
            continue  # other operations: the app does not use them; the props stay as they were
        node = target
        for step in location[:-1]:
            if isinstance(node, list) and isinstance(step, int) and step < len(node):
                node = node[step]
            elif isinstance(node, dict):
                node = node.setdefault(step, {})
            else:
                break
        else:
            last = location[-1]
            if isinstance(node, list) and isinstance(last, int):
                while len(node) <= last:
                    node.append(None)
                node[last] = params.get("value")
            elif isinstance(node, dict):
                node[last] = params.get("value")
    return target
