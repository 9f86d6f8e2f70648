"""`python app.py` stops at once on Ctrl-C or SIGTERM, with every process it started.

The real app runs on a free port with a fresh cache, so when the signal arrives its workers are
busy pre-computing the default matrix (once /healthz answers), or still warming up (loading the
model: as soon as the worker processes exist, before the server answers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from dashboard.config import ROOT
from tests.net import free_port, healthy

STARTUP_TIMEOUT = 60  # s until /healthz answers
STOP_TIMEOUT = 5  # s from the signal until no process of the app is left


def _sigint_as_a_terminal_leaves_it() -> None:
    """SIGINT at its default in the app, as for a program started from a terminal: a suite run
    as a shell's background job (`make test &`) hands its children SIGINT ignored, which the app
    then rightly keeps (dashboard/shutdown.py), and the Ctrl-C cases failed."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# what a stop cut short tends to print: a worker interrupted mid-import, a nanny whose worker
# died while starting, an asyncio task nobody awaited, a leak the resource tracker saw
SHUTDOWN_NOISE = (
    "Traceback",
    "KeyboardInterrupt",
    "failed to start",
    "never retrieved",
    "leaked semaphore",
    "Fatal Python error",
)


def _workers_started(proc) -> bool:
    """The web process has started its worker pool (its processes, at least two)."""
    try:
        return len(psutil.Process(proc.pid).children(recursive=True)) >= 2
    except psutil.Error:
        return False


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "whole_group", "moment"),
    [
        (signal.SIGINT, True, "computing"),  # Ctrl-C in a terminal: the whole foreground group
        (signal.SIGINT, False, "computing"),  # `kill -INT`: the web process alone
        (signal.SIGTERM, False, "computing"),  # a service manager's stop
        (signal.SIGINT, True, "warming-up"),  # workers spawned mid-import: Ctrl-C is not theirs
        (signal.SIGTERM, False, "warming-up"),
    ],
    ids=["ctrl-c", "sigint", "sigterm", "ctrl-c-warming-up", "sigterm-warming-up"],
)
def test_a_signal_stops_the_app_and_its_processes(tmp_path, signum, whole_group, moment):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "QKATLAS_CACHE_DIR": str(tmp_path / "cache"),
        "QKATLAS_PORT": str(port),
        "QKATLAS_HOST": "127.0.0.1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own group: the test's Ctrl-C, and a clean-up by group
            preexec_fn=_sigint_as_a_terminal_leaves_it,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        ready = (
            (lambda: _workers_started(proc)) if moment == "warming-up" else (lambda: healthy(url))
        )
        while not ready():
            assert proc.poll() is None, f"the app exited early:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no /healthz:\n{log.read_text()}"
            time.sleep(0.25)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 2, "the app runs its Dask workers in processes of their own"

        started = time.monotonic()
        if whole_group:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        while time.monotonic() - started < STOP_TIMEOUT:
            proc.poll()  # reap the web process, else its zombie keeps the group alive
            if not _group_alive(proc.pid):
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        left = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        text = log.read_text(errors="replace")
        assert not _group_alive(proc.pid), (
            f"processes left {elapsed:.1f} s after {signum.name}: web {proc.poll()}, "
            f"children {left}\n{text[-4000:]}"
        )
        assert left == [], left
        assert proc.returncode == 0, proc.returncode
        noise = [marker for marker in SHUTDOWN_NOISE if marker in text]
        assert noise == [], text[-4000:]
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_a_process_forked_from_the_web_process_dies_quietly_on_sigterm():
    """Dash forks its job processes from the web process, handlers included: there SIGTERM
    keeps its default action (no KeyboardInterrupt traceback, no shutdown of the app)."""
    code = textwrap.dedent(
        """
        import os, signal, time
        from dashboard import shutdown
        shutdown.handle_signals()
        pid = os.fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
            os._exit(3)
        _, status = os.waitpid(pid, 0)
        print(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True" and out.stderr == "", out
