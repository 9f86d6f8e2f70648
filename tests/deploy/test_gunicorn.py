"""gunicorn web hosts share one Dask pool (started with Dask's own commands) and one job store."""

from __future__ import annotations

import re
import subprocess

import psutil
import pytest

from dashboard.config import Settings
from dashboard.models.registry import DEFAULT_MODEL, discover
from tests.deploy.browser import chromium
from tests.deploy.servers import (
    BIN,
    ROOT,
    http_get,
    start_gunicorn,
    start_nginx,
    wait_until,
)

pytestmark = pytest.mark.browser


def test_gunicorn_without_a_shared_pool_refuses_to_start(base_env):
    done = subprocess.run(
        [str(BIN / "gunicorn"), "app:server", "--bind", "127.0.0.1:0"],
        cwd=ROOT,
        env=base_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DASK_SCHEDULER_ADDRESS" in done.stdout + done.stderr


def _poll_statuses(log: str) -> list[str]:
    """HTTP statuses of the background-callback polls (requests carrying a job's cacheKey)."""
    return re.findall(r'"POST /_dash-update-component\?\S*cacheKey=\S+ HTTP/1\.[01]" (\d{3})', log)


def _dask_workers_under(pid: int) -> list[str]:
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            line = " ".join(child.cmdline())
        except psutil.Error:  # a finished job process (a zombie until reaped) is no worker
            continue
        if any(mark in line for mark in ("spawn_main", "distributed", "dask")):
            found.append(line)
    return found


def test_two_web_hosts_share_one_pool_and_the_job_store(services, base_env, dask_pool, tmp_path):
    # a cache of its own: with every map already cached (other tests) the job would end before
    # a second poll, and nothing would show that polls through the other host work
    env = {**base_env, "DASK_SCHEDULER_ADDRESS": dask_pool, "QKATLAS_CACHE_DIR": str(tmp_path)}
    host_a, url_a = start_gunicorn(services, env, "web-a", 1)
    host_b, url_b = start_gunicorn(services, env, "web-b", 1)
    # every job is started through host A and every poll (a request carrying the job's cacheKey)
    # is answered by host B: only a shared job store lets B hand over what A started. (Round
    # robin left it to chance: a page's requests can pair up so that every poll lands on one.)
    upstream = f"""
  upstream web_a {{ server {url_a.removeprefix("http://")}; }}
  upstream web_b {{ server {url_b.removeprefix("http://")}; }}
  map $arg_cacheKey $web {{ "" web_a; default web_b; }}
  server {{ listen LISTEN; location / {{ proxy_pass http://$web; }} }}"""
    _, url = start_nginx(services, "nginx-split", upstream)
    assert http_get(f"{url}/healthz")[0] == 200

    spec = discover().models[DEFAULT_MODEL]
    cache = Settings.from_env(env).cache_dir
    driver = chromium()
    try:
        driver.get(url)
        wait_until(
            lambda: len(list(cache.glob("coords/**/*.npz"))) >= spec.n_layers * spec.n_heads,
            "every head of the default matrix computed on the shared pool",
            240,
            lambda: host_a.log_text()[-3000:] + host_b.log_text()[-3000:],
        )
        wait_until(
            lambda: driver.execute_script(
                "const g = document.querySelector('#matrix-graph .js-plotly-plot');"
                "return g && g.data && g.data.length;"
            ),
            "the matrix drawn from a job started on host A and collected through host B",
            120,
            lambda: host_b.log_text()[-3000:],
        )
    finally:
        driver.quit()
    assert not _poll_statuses(host_a.log_text()), "a poll reached the host that starts jobs"
    polls = _poll_statuses(host_b.log_text())
    assert polls, "the page polled its jobs through host B"
    assert set(polls) == {"200"}, f"every poll answered by the host that did not start it: {polls}"
    for host in (host_a, host_b):
        assert not _dask_workers_under(host.proc.pid), "a web host started its own workers"
        assert "Traceback" not in host.log_text()
