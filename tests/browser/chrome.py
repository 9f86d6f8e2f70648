"""The headless Chromium every browser test (and bench/browser.py) runs: where it is, and the
options it starts with (software WebGL: SwiftShader, no GPU)."""

from __future__ import annotations

import os
from pathlib import Path

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


def chrome_options(extra: tuple[str, ...] = ()):
    """selenium Options for CHROMIUM with CHROME_ARGS (and `extra`)."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (*CHROME_ARGS, *extra):
        options.add_argument(arg)
    return options
