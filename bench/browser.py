"""7. The browser: the warm default matrix and a head click in headless Chromium (software WebGL),
against the floor for this figure: a static page that loads the same plotly.js and draws the
same figure in a box of the same size.

A real `python app.py` (tests/browser/server.py) with a fresh cache; one navigation computes the
default matrix and a second warms the browser's cache, then nothing is measured cold. "Drawn"
is the browser tests' condition (tests/browser/page.py, wait_matrix_full): one WebGL trace per
layer, every head's block of it holding all its points. A script added to every new document
(before the page's own) checks it on each animation frame; its performance.now() when it first
holds is the time from navigation start. The static page (served by http.server from a
temporary folder) fetches the figure JSON — `dashboard.views.matrix.render` on the server's
cache, serialised as Dash sends it — while plotly.min.js (the app's own file, same bytes) loads,
then calls Plotly.react with the app's graph config. A head click is a real mouse click on one
point of a cell (as the tests click); its time runs from the mousedown to the first animation
frame with the head's title and every one of its points in the single-head graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.timing import log, median

APP = "app: navigation → every matrix point drawn"
APP_RELOAD = "app: reload → every matrix point drawn"
FLOOR = "static page (floor): navigation → the same figure drawn"
FLOOR_RELOAD = "static page (floor): reload → the same figure drawn"
CLICK = "app: head click → its view drawn with every point"
CLICKED_HEADS = ((2, 5), (0, 0), (5, 11), (3, 7), (1, 3), (4, 9), (0, 6))
DRAW_TIMEOUT = 120.0  # s: a warm matrix on 2 busy cores takes seconds, a cold one ~15 s
COLD_TIMEOUT = 300.0  # s: the first navigation computes the whole default matrix


@dataclass
class Timing:
    """One measurement repeated: seconds of each repeat, in order."""

    name: str
    seconds: list[float]

    @property
    def n(self) -> int:
        return len(self.seconds)

    @property
    def median(self) -> float:
        return median(self.seconds)

    @property
    def low(self) -> float:
        return min(self.seconds, default=float("nan"))

    @property
    def high(self) -> float:
        return max(self.seconds, default=float("nan"))


@dataclass
class BrowserResult:
    chromium: str
    webgl: str  # the WebGL renderer the page gets (SwiftShader: software)
    n_points: int  # matrix points drawn, every cell
    head_points: int  # points of one single-head view
    plotly_js: str  # the file both pages load, and its size
    figure_bytes: int  # the figure JSON the static page fetches
    box: tuple[int, int]  # the graph's size in CSS pixels, both pages
    timings: list[Timing] = field(default_factory=list)
    # page → (milestone, ms after navigation start) of its median navigation
    breakdown: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    load_before: str = "?"
    load_after: str = "?"

    def timing(self, name: str) -> Timing | None:
        return next((t for t in self.timings if t.name == name and t.n), None)

    def app_minus_floor(self) -> float | None:
        app, floor = self.timing(APP), self.timing(FLOOR)
        return None if app is None or floor is None else app.median - floor.median


# --------------------------------------------------------------------------- in-page scripts


def drawn_detector(n_layers: int, n_heads: int, missing: int) -> str:
    """A script for every new document: window.__qkBench.drawn = performance.now() at the first
    animation frame where the matrix graph is full (tests/browser/page.py's wait_matrix_full)."""
    from tests.browser.probes import JS_ARRAY, MATRIX_JS

    return f"""(() => {{
{JS_ARRAY}
function matrixSummary() {{
{MATRIX_JS}
}}
const N_LAYERS = {n_layers}, N_HEADS = {n_heads}, MISSING = {missing};
function full() {{
  const m = matrixSummary(N_HEADS, MISSING);
  if (!m || m.traces.length !== N_LAYERS) return null;
  const lengths = new Set(m.traces.map((t) => t.length));
  if (lengths.size !== 1) return null;
  const length = m.traces[0].length, per = Math.floor(length / N_HEADS);
  if (length <= 0) return null;
  const whole = m.traces.every((t) => t.filled.length === N_HEADS && t.filled.every((n) => n === per));
  return whole ? {{perHead: per, title: m.title}} : null;
}}
window.__qkBench = {{drawn: null}};
function tick() {{
  let found = null;
  try {{ found = full(); }} catch (err) {{ found = null; }}
  if (found) {{
    Object.assign(window.__qkBench, found, {{drawn: performance.now()}});
    return;
  }}
  if (performance.now() < {COLD_TIMEOUT * 1000:.0f}) requestAnimationFrame(tick);
}}
requestAnimationFrame(tick);
}})();"""


# Armed before a click: the mousedown's time, then the first animation frame at which the head
# section shows the clicked head with every one of its points finite.
HEAD_DETECTOR_JS = r"""
const [layer, head, expected] = arguments;
const title = `Layer ${layer} · head ${head}`;
window.__qkClick = {down: null, drawn: null};
function shown() {
  const section = document.getElementById('head-section');
  if (!section || section.hidden || section.offsetParent === null) return false;
  const gd = graph('head-graph');
  if (!gd || !gd.data || !gd.data.length || !gd._fullLayout) return false;
  if (!((gd.layout.title || {}).text || '').startsWith(title)) return false;
  const x = arr(gd.data[0].x), y = arr(gd.data[0].y);
  if (!x || !y || x.length !== expected || y.length !== expected) return false;
  for (let i = 0; i < x.length; i++) if (Number.isNaN(x[i]) || Number.isNaN(y[i])) return false;
  return true;
}
function tick() {
  let ok = false;
  try { ok = shown(); } catch (err) { ok = false; }
  if (ok) { window.__qkClick.drawn = performance.now(); return; }
  if (performance.now() - window.__qkClick.down < 60000) requestAnimationFrame(tick);
}
document.addEventListener('mousedown', () => {
  if (window.__qkClick.down !== null) return;
  window.__qkClick.down = performance.now();
  requestAnimationFrame(tick);
}, {capture: true});
"""

# For every new document, before the page's own scripts: each callback request's output and
# times (Dash's renderer posts them with fetch), and each time Plotly finished drawing a graph,
# with the graph's id (ms after navigation start): which callbacks the figure waited for, and
# how many times the matrix was drawn.
TRACE_JS = r"""
(() => {
  const trace = window.__qkTrace = {callbacks: [], plots: []};
  const fetch0 = window.fetch;
  window.fetch = function (url, options) {
    if (!String(url).includes('_dash-update-component') || !options || !options.body) {
      return fetch0.apply(this, arguments);
    }
    let output = '?';
    try { output = JSON.parse(options.body).output; } catch (err) { /* not JSON */ }
    const row = [performance.now(), null, output];
    trace.callbacks.push(row);
    return fetch0.apply(this, arguments).then((r) => { row[1] = performance.now(); return r; });
  };
  // each time Plotly finishes drawing a graph (its plotly_afterplot event), by the graph's id:
  // Plotly's module object cannot be wrapped, its graphs' events can
  const hooked = new Set();
  function hook() {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
      const owner = gd.closest('[id]');
      if (hooked.has(gd) || !owner || typeof gd.on !== 'function') continue;
      hooked.add(gd);
      gd.on('plotly_afterplot', () => trace.plots.push([performance.now(), 'afterplot', owner.id]));
    }
    if (performance.now() < 300000) requestAnimationFrame(hook);
  }
  requestAnimationFrame(hook);
})();
"""

# When the page's parts arrived (ms after navigation start): HTML parsed, plotly.js loaded,
# every callback request (start, end, bytes), the figure JSON of the static page.
MILESTONES_JS = r"""
const nav = performance.getEntriesByType('navigation')[0] || {};
const res = performance.getEntriesByType('resource');
const find = (re) => res.find((r) => re.test(r.name));
const plotly = find(/plotly[^/]*\.js/), figure = find(/figure\.json/);
return {
  dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
  plotly: plotly ? [plotly.startTime, plotly.responseEnd] : null,
  figure: figure ? [figure.startTime, figure.responseEnd, figure.decodedBodySize] : null,
  callbacks: res.filter((r) => r.name.includes('_dash-update-component'))
    .map((r) => [r.startTime, r.responseEnd, r.decodedBodySize]),
  dash: res.filter((r) => /_dash-(layout|dependencies)/.test(r.name))
    .map((r) => [r.name.match(/_dash-(layout|dependencies)/)[1], r.responseEnd]),
  resources: res.length,
  trace: window.__qkTrace || null,
  drawn: window.__qkBench.drawn,
};
"""

WEBGL_JS = r"""
const gl = document.createElement('canvas').getContext('webgl');
if (!gl) return 'none';
const info = gl.getExtension('WEBGL_debug_renderer_info');
return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
"""


def floor_page(width: int, height: int, config: dict[str, Any]) -> str:
    """The static page: figure.json fetched while plotly.min.js loads, then drawn in a box of
    the app's graph's size, inside a #matrix-graph (so the same detector reads it)."""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>floor</title>
<script>window.__figure = fetch('figure.json').then((r) => r.json());</script>
<script src="plotly.min.js"></script>
</head><body style="margin:0">
<div id="matrix-graph"><div id="plot" style="width:{width}px;height:{height}px"></div></div>
<script>
window.__figure.then((f) => Plotly.react('plot', f.data, f.layout, {json.dumps(config)}));
</script>
</body></html>
"""


def breakdown(m: dict[str, Any]) -> list[tuple[str, float]]:
    """Milestones (MILESTONES_JS) as (what, ms after navigation start), in time order. The
    figure's callback is the one whose response is largest."""
    rows: list[tuple[str, float]] = [("HTML parsed (DOMContentLoaded)", m["dcl"])]
    if m.get("plotly"):
        rows.append(("plotly.min.js loaded", m["plotly"][1]))
    for what, end in m.get("dash") or []:
        rows.append((f"Dash's /_dash-{what} received", end))
    calls = sorted(m.get("callbacks") or [])
    if calls:
        rows.append(("first callback request sent", calls[0][0]))
        big = max(calls, key=lambda c: c[2])
        before = sum(1 for c in calls if c[0] < big[0])
        rows.append((f"matrix figure requested ({before} callback requests before it)", big[0]))
        rows.append((f"matrix figure received ({big[2] / 1e6:.2f} MB decoded)", big[1]))
        rows.append((f"callback requests by the time it is drawn: {len(calls)}", m["drawn"]))
    rows += _traced(m.get("trace"))
    if m.get("figure"):
        rows.append(("figure.json requested", m["figure"][0]))
        rows.append((f"figure.json received ({m['figure'][2] / 1e6:.2f} MB)", m["figure"][1]))
    rows.append(("every point drawn", m["drawn"]))
    return sorted(rows, key=lambda row: row[1])


def _traced(trace: dict[str, Any] | None) -> list[tuple[str, float]]:
    """TRACE_JS's milestones: the callback the matrix figure's request waited for last, and
    each time Plotly drew the matrix graph (the first draw is the one that counts; every other
    costs the browser about as much again)."""
    if not trace:
        return []
    rows: list[tuple[str, float]] = []
    asked = [c for c in trace["callbacks"] if "matrix-graph.figure" in str(c[2])]
    if asked:
        start = asked[0][0]
        before = [c for c in trace["callbacks"] if c[1] is not None and c[1] <= start]
        if before:
            last = max(before, key=lambda c: c[1])
            rows.append((f"last callback answered before it: {str(last[2])[:70]}", last[1]))
    draws = [p for p in trace["plots"] if p[2] == "matrix-graph"]
    for n, (at, _, _) in enumerate(draws, 1):
        rows.append((f"Plotly drew the matrix graph ({n} of {len(draws)})", at))
    return rows


# --------------------------------------------------------------------------- the browser


class _Browser:
    """selenium's handle on a headless Chromium started as the browser tests start theirs."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        from tests.browser.chrome import CHROMEDRIVER, MISSING, chrome_options

        if MISSING:
            raise RuntimeError(f"the browser section needs {' and '.join(MISSING)}")
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=chrome_options())
        self.driver.set_script_timeout(60)

    def version(self) -> str:
        caps = self.driver.capabilities
        return f"{caps.get('browserName', 'chrome')} {caps.get('browserVersion', '?')}"

    def on_every_document(self, script: str) -> None:
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})

    def drawn(self, go, timeout: float = DRAW_TIMEOUT) -> dict[str, Any]:
        """Runs `go` (a navigation or reload), then polls until the detector says drawn;
        returns the page's milestones (ms after navigation start)."""
        import time

        go()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.driver.execute_script(
                "return window.__qkBench && window.__qkBench.drawn !== null ? "
                "window.__qkBench : null"
            )
            if done:
                return {**self.driver.execute_script(MILESTONES_JS), **done}
            time.sleep(0.1)
        raise RuntimeError(f"not drawn within {timeout:.0f} s: {self.driver.current_url}")

    def navigate(self, url: str, timeout: float = DRAW_TIMEOUT) -> dict[str, Any]:
        def go() -> None:
            self.driver.get("about:blank")
            self.driver.get(url)

        return self.drawn(go, timeout)

    def reload(self) -> dict[str, Any]:
        return self.drawn(self.driver.refresh)

    def quit(self) -> None:
        self.driver.quit()


def _serve(folder: Path):
    """A tiny http.server on a free loopback port serving `folder`, in a thread."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            if self.path.endswith(".js"):  # cached as Dash caches its fingerprinted scripts
                self.send_header("Cache-Control", "public, max-age=31536000")
            super().end_headers()

        def log_message(self, *args: Any) -> None:  # the bench's output stays readable
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _figures(env: dict[str, str], per_head: int) -> tuple[str, int]:
    """(the default matrix figure as Dash sends it with `per_head` points a cell — what the
    app's page drew in its window — and the points of one head view), from the server's
    cache."""
    from plotly.io.json import to_json_plotly

    from bench.figures import REQUEST
    from dashboard import catalog
    from dashboard.config import Settings
    from dashboard.views import matrix
    from dashboard.views.context import resolve
    from dashboard.views.request import resolve_request

    catalog.configure(Settings.from_env(env))
    request = resolve_request(*REQUEST)
    if request.get("error"):
        raise RuntimeError(request["error"])
    figure, _ = matrix.render(request, "role", None, False, max_pairs=per_head // 2)
    view = resolve(request)
    if view is None or view.table is None:
        raise RuntimeError("the default corpus's token table is not in the server's cache")
    return to_json_plotly(figure), 2 * len(view.table)  # queries and keys


def _wait_cached(env: dict[str, str], timeout: float = COLD_TIMEOUT) -> float:
    """Seconds until the default matrix is cached whole: its maps and every head's metrics,
    which follow the job on the workers. Until then a page load starts a job and the metrics
    it gets redraw the matrix, on two cores the workers share: that is not a warm matrix."""
    import time

    from bench.figures import REQUEST
    from dashboard import catalog, dask_pool
    from dashboard.cache_keys import MapParams
    from dashboard.config import Settings
    from dashboard.views.request import resolve_request

    svc = catalog.configure(Settings.from_env(env))
    start = time.monotonic()
    request = resolve_request(*REQUEST)
    subject, _ = svc.subject(request["model"], request["corpus"])
    params = MapParams.from_dict(request["params"])
    while dask_pool.cached_progress(subject, params) is None:
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"the default matrix's metrics were not stored within {timeout} s")
        time.sleep(0.5)
    return time.monotonic() - start


def _timed(name: str, runs: list[dict[str, Any]]) -> Timing:
    return Timing(name, [r["drawn"] / 1e3 for r in runs])


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["drawn"])
    return ordered[(len(ordered) - 1) // 2]


def _click(page, browser: _Browser, layer: int, head: int, expected: int) -> float:
    """Seconds from the mousedown on a point of (layer, head) to its view drawn."""
    import time

    page.js(HEAD_DETECTOR_JS, layer, head, expected)
    per_head = browser.driver.execute_script("return window.__qkBench.perHead")
    page.click_matrix_point(layer, head * per_head + 3)
    deadline = time.monotonic() + DRAW_TIMEOUT
    while time.monotonic() < deadline:
        found = browser.driver.execute_script("return window.__qkClick")
        if found and found["drawn"] is not None:
            return (found["drawn"] - found["down"]) / 1e3
        time.sleep(0.1)
    raise RuntimeError(f"L{layer} H{head}: its view was not drawn within {DRAW_TIMEOUT:.0f} s")


def measure_browser(folder: Path, navigations: int = 5, reloads: int = 3) -> BrowserResult:
    from types import SimpleNamespace
    from urllib.request import urlopen

    from bench.timing import load_average
    from dashboard.config import Settings
    from dashboard.export import GRAPH_CONFIG
    from dashboard.figures.matrix import MISSING
    from dashboard.models.registry import DEFAULT_MODEL, discover
    from tests.browser.page import QKPage
    from tests.browser.server import start_app

    load_before = load_average()
    folder.mkdir(parents=True, exist_ok=True)
    server = start_app(folder)
    try:
        settings = Settings.from_env(server.env)
        model = discover(settings.model_dirs, settings.cache_dir).models[DEFAULT_MODEL]
        browser = _Browser()
        try:
            page = QKPage(SimpleNamespace(driver=browser.driver), server.url)
            browser.on_every_document(TRACE_JS)
            browser.on_every_document(drawn_detector(model.n_layers, model.n_heads, MISSING))
            log("browser: the first navigation computes the default matrix (cold)")
            browser.navigate(server.url, COLD_TIMEOUT)
            page.wait_job_done(COLD_TIMEOUT)
            waited = _wait_cached(server.env)
            log(f"browser: the default matrix's metrics stored {waited:.1f} s after its maps")
            warm = browser.navigate(server.url)  # the browser's cache warm too
            box = browser.driver.execute_script(
                "const r = document.querySelector('#matrix-graph .js-plotly-plot')"
                ".getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)];"
            )
            plotly_url = browser.driver.execute_script(
                "return performance.getEntriesByType('resource').map((r) => r.name)"
                ".find((n) => /plotly[^/]*\\.js/.test(n)) || null;"
            )
            if plotly_url is None:
                raise RuntimeError("the app's page loaded no plotly*.js")
            webgl = browser.driver.execute_script(WEBGL_JS)
            chromium = browser.version()

            app_runs, clicks = [], []
            figure, head_points = _figures(server.env, warm["perHead"])
            for i in range(navigations):
                app_runs.append(browser.navigate(server.url))
                layer, head = CLICKED_HEADS[i % len(CLICKED_HEADS)]
                clicks.append(_click(page, browser, layer, head, head_points))
                log(
                    f"browser: app drawn {app_runs[-1]['drawn'] / 1e3:.2f} s, "
                    f"L{layer} H{head} click → drawn {clicks[-1]:.3f} s"
                )
            browser.navigate(server.url)
            app_reloads = [browser.reload() for _ in range(reloads)]

            static = folder / "floor"
            static.mkdir()
            with urlopen(plotly_url, timeout=60) as response:  # the app's bytes, as served
                plotly_bytes = response.read()
            (static / "plotly.min.js").write_bytes(plotly_bytes)
            (static / "figure.json").write_text(figure, encoding="utf-8")
            (static / "index.html").write_text(floor_page(*box, GRAPH_CONFIG), encoding="utf-8")
            httpd = _serve(static)
            try:
                floor_url = f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
                check = browser.navigate(floor_url)  # warms the cache as the app's did
                if (check["perHead"], check["title"]) != (warm["perHead"], warm["title"]):
                    raise RuntimeError(
                        f"the static page drew another figure: {check['title']!r}, "
                        f"{check['perHead']} points per head; the app: {warm['title']!r}, "
                        f"{warm['perHead']}"
                    )
                floor_runs = [browser.navigate(floor_url) for _ in range(navigations)]
                floor_reloads = [browser.reload() for _ in range(reloads)]
            finally:
                httpd.shutdown()
                httpd.server_close()
        finally:
            browser.quit()
    finally:
        server.stop()
    result = BrowserResult(
        chromium=chromium,
        webgl=webgl,
        n_points=warm["perHead"] * model.n_layers * model.n_heads,
        head_points=head_points,
        plotly_js=f"{plotly_url.split('?')[0].rsplit('/', 1)[-1]} ({len(plotly_bytes):,} bytes)",
        figure_bytes=len(figure.encode()),
        box=(box[0], box[1]),
        timings=[
            _timed(APP, app_runs),
            _timed(APP_RELOAD, app_reloads),
            _timed(FLOOR, floor_runs),
            _timed(FLOOR_RELOAD, floor_reloads),
            Timing(CLICK, clicks),
        ],
        breakdown={
            "app": breakdown(_median_run(app_runs)),
            "static page": breakdown(_median_run(floor_runs)),
        },
        load_before=load_before,
        load_after=load_average(),
    )
    log(
        f"browser: app {result.timing(APP).median:.2f} s, floor {result.timing(FLOOR).median:.2f} "
        f"s, click {result.timing(CLICK).median:.3f} s"
    )
    return result
