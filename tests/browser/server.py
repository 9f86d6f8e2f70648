"""The app server for the browser tests: a real `python app.py` in its own process group.

Started once per session on a free port with a fresh cache directory; stopped with its whole
process group (web process, Dask workers, job processes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.net import free_port, healthy

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60  # s until /healthz answers


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

    def stop(self) -> None:
        _stop_group(self.proc)


class AppNotReady(RuntimeError):
    """The app exited, or did not answer /healthz in time (the message holds its log)."""


def start_app(folder: Path) -> AppServer:
    """`python app.py` on a free port with a fresh cache in `folder`, once /healthz answers
    (also bench/browser.py's server). Stop it with stop()."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    env = {
        **os.environ,
        "QKATLAS_CACHE_DIR": str(folder / "cache"),
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
        while not healthy(url):
            if proc.poll() is not None:
                raise AppNotReady(
                    f"the app exited with {proc.returncode} before answering /healthz:\n"
                    f"{server.log_text()}"
                )
            if time.monotonic() > deadline:
                raise AppNotReady(
                    f"the app did not answer {url}/healthz within {STARTUP_TIMEOUT} s:\n"
                    f"{server.log_text()}"
                )
            time.sleep(0.25)
    except BaseException:  # it failed, or was interrupted, while starting: none left behind
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    try:
        server = start_app(tmp_path_factory.mktemp("qkatlas-app"))
    except AppNotReady as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    return app_server.url
