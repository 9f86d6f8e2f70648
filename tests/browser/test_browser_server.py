"""The server's own log after the browser tests: no tracebacks (runs last: file order)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_server_log_has_no_traceback(app_server):
    log = app_server.log_text()
    assert "Dash is running" in log
    assert "Traceback" not in log, log[-4000:]
    assert "could not start the worker pool" not in log
