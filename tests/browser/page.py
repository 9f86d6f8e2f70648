"""The page object: the QK Atlas page in one dash.testing browser, and the `page` fixture."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.figures.matrix import MISSING
from tests.browser.probes import (
    GRAPH_POINT_PIXEL_JS,
    HEAD_JS,
    HEAD_LINES_JS,
    HEAD_POINT_PIXEL_JS,
    HEAD_SIZE_JS,
    HEAD_XY_JS,
    IMAGE_MAP_JS,
    ISOLATED_JS,
    JS_ARRAY,
    MATRIX_JS,
    POINT_PIXEL_JS,
    SENTENCE_JS,
    SENTENCE_PIXEL_JS,
)

MATRIX_TIMEOUT = 90  # s until every head of a cold matrix is drawn (cold default: ~10-15 s)
# s until the decoder's matrix is drawn the first time in a session: GGUF → safetensors
# conversion, extraction and 270 PCA maps (~100 s on 2 idle cores)
DECODER_TIMEOUT = 360
UI_TIMEOUT = 20  # s for a callback round trip (URL, sections, figures from the cache)


def outputs(call: str) -> list[tuple[str, str]]:
    """(id, property) of each output of a callback request as Dash names them: "id.prop" or
    "..id.prop...id.prop..", each perhaps with "@hash" (an output shared by callbacks)."""
    parts = call.strip(".").split("...") if call.startswith("..") else [call]
    return [tuple(part.split("@")[0].rsplit(".", 1)) for part in parts]


class QKPage:
    """The QK Atlas page in one dash.testing browser."""

    DECODER_TIMEOUT = DECODER_TIMEOUT
    MATRIX_TIMEOUT = MATRIX_TIMEOUT

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

    def wait(self, condition, message: str | Callable[[], str], timeout: float = UI_TIMEOUT):
        """Polls `condition` until truthy; `message` (or what it returns, called at the time out:
        the page's state then, not when the wait began) says what never came."""
        from selenium.common.exceptions import (
            StaleElementReferenceException,
            TimeoutException,
            WebDriverException,
        )
        from selenium.webdriver.support.ui import WebDriverWait

        def safe(driver):
            try:
                return condition(driver)
            except StaleElementReferenceException:
                return False
            except TimeoutException:  # a probe the page was too busy to run ("script timeout")
                return False

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(safe)
        except WebDriverException as exc:
            raise AssertionError(
                f"timed out after {timeout} s: {message() if callable(message) else message}\nURL: {self.driver.current_url}\n"
                f"alert: {self.alert_text()!r}"
            ) from exc

    def wait_query(self, **expected: str) -> dict[str, str]:
        def ok(_):
            q = self.query()
            return q if all(q.get(k) == v for k, v in expected.items()) else False

        return self.wait(ok, lambda: f"URL query to contain {expected}, it is {self.query()}")

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
    def matrix(self, n_heads: int = 1) -> dict | None:
        """The matrix figure's traces (one per layer, then one per layer of search hits); each
        trace's `filled` counts the drawn points of each of its `n_heads` head blocks."""
        return self.js(MATRIX_JS, n_heads, MISSING)

    def wait_matrix_full(
        self, model, timeout: float = MATRIX_TIMEOUT, other_than: int | None = None
    ) -> dict:
        """Waits until every cell of `model`'s matrix (a ModelSpec: n_layers × n_heads) has all
        its points; returns the figure summary plus n_points.

        other_than: a points-per-head count that must NOT be the one shown (a previous corpus).
        """
        n_layers, n_heads = model.n_layers, model.n_heads

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
            lambda: (
                f"a {n_layers}×{n_heads} matrix with every head drawn; now "
                f"{self.matrix(n_heads)}; the job says {self.text('job-text')!r}"
            ),
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

    def _under(self, x: float, y: float) -> dict:
        """What a failed hover found at the pixel: the element there, Plotly's hover data, and
        whether the head's points have their hover text."""
        return self.js(
            "const [x, y] = arguments; const e = document.elementFromPoint(x, y);"
            "const gd = document.querySelector('#head-graph .js-plotly-plot');"
            "return {pixel: [x, y], element: e && (e.id || String(e.className.baseVal ?? "
            "e.className)), hoverdata: gd && (gd._hoverdata || []).length, "
            "texts: gd && gd.data[0] && gd.data[0].text ? gd.data[0].text.length : null};",
            x,
            y,
        )

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
            # a second small move, as a hand makes: a hover whose label the links' redraw took
            # away (Plotly drops it when the figure changes under the mouse) comes back
            actions.move_to_location(x, y).pause(0.2).move_by_offset(1, 0).pause(0.5)
            actions.move_by_offset(-1, 0).perform()
            try:
                return self.wait(
                    label,
                    lambda x=x, y=y: f"a hover label over the head figure; {self._under(x, y)}",
                    UI_TIMEOUT / attempts,
                )
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
            lambda: f"the job to finish; it says {self.text('job-text')!r}",
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

    def head_size(self) -> dict | None:
        return self.js(HEAD_SIZE_JS)

    def click_image_cell(self, row: int, col: int) -> None:
        """A real click at the pixel of one heatmap cell (x = column, y = row)."""
        self.point_and_click("sentence-graph", lambda: self.sentence_pixel(float(col), float(row)))

    # the single-head view
    def isolated_head_point(self, candidates, min_gap: float = 4.0) -> tuple[int, float]:
        return self.isolated_point("head-graph", candidates, min_gap)

    def isolated_point(self, graph_id: str, candidates, min_gap: float = 4.0) -> tuple[int, float]:
        """(index in trace 0, pixel gap to its nearest neighbour) of the candidate point of a 2D
        graph safest to click or hover; waits for one `min_gap` px clear (while the plot is laid
        out)."""
        self.driver.execute_script(
            f"document.getElementById('{graph_id}').scrollIntoView({{block: 'center'}});"
        )
        from selenium.common.exceptions import JavascriptException

        candidates, found = [int(i) for i in candidates][:2000], []

        def isolated(_):
            try:  # the figure may be mid-update (no axes yet): try again
                found[:] = self.js(ISOLATED_JS, graph_id, candidates)
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

    def screenshot(self, path: Path) -> bytes:
        path.parent.mkdir(parents=True, exist_ok=True)
        png = base64.b64decode(self.driver.get_screenshot_as_base64())
        path.write_bytes(png)
        return png


@pytest.fixture
def page(dash_br, app_url) -> QKPage:
    return QKPage(dash_br, app_url)
