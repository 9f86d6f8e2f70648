"""Deployment tests: the real servers a team runs, started here on free loopback ports —
`dask scheduler` + `dask worker --preload`, gunicorn, nginx, redis-server — each in its own
process group, stopped at the end. Nothing is mocked.

Under CI=true a missing server program fails these tests instead of skipping them."""

from __future__ import annotations

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
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.net import free_port, healthy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # gunicorn, dask and celery live beside the interpreter
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
STARTUP_TIMEOUT = 90  # s until a server answers


def require(program: str) -> None:
    """A program (or installed package folder) the test needs: fail under CI=true, else skip."""
    if not os.access(program, os.X_OK):
        message = f"{program} is missing: scripts/install-services.sh installs it (make test does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def wait_until(condition: Callable[[], object], what: str, timeout: float, log=None):
    """Polls `condition` until it returns something truthy; fails naming `what` (and a log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what}: not within {timeout} s" + (f"\n{log()}" if log else ""), pytrace=False)


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")


class Service:
    """One server program in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.log = folder / f"{name}.log"
        # this checkout's code, whatever the venv's editable install points at: `dask`'s script
        # puts its own folder first on sys.path, not the working directory, so a pool started
        # from a second checkout ran the first one's `dashboard` (another version: its maps were
        # stored under keys this one never reads)
        env = {
            **env,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        }
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=5)


class Services:
    """Starts services on demand into one folder of logs; `stop_all` stops them, last first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[Service] = []

    def __call__(self, name: str, args: list[str], env: dict[str, str]) -> Service:
        service = Service(name, args, env, self.folder)
        self.started.append(service)
        return service

    def stop_all(self) -> None:
        for service in reversed(self.started):
            service.stop()
        self.started.clear()


def start_gunicorn(
    services, env: dict[str, str], name: str, workers: int = 2, port: int | None = None
):
    """`gunicorn app:server` with the project's gunicorn.conf.py; returns (service, url)."""
    port = port or free_port()
    env = {**env, "QKATLAS_PORT": str(port), "QKATLAS_WEB_WORKERS": str(workers)}
    service = services(name, [str(BIN / "gunicorn"), "app:server"], env)
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if not service.alive():
            pytest.fail(f"{name} exited:\n{service.log_text()}", pytrace=False)
        return healthy(url)

    wait_until(answering, f"{name} to answer /healthz", STARTUP_TIMEOUT, service.log_text)
    return service, url


def start_dask_pool(services, env: dict[str, str], workers: int = 1) -> str:
    """One shared pool started with Dask's own commands: a scheduler and `workers` warm worker
    processes of one thread each; returns the scheduler's address once every worker is in."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = services(
        "dask-scheduler",
        [
            *(str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)),
            "--no-dashboard",
        ],
        env,
    )
    worker = services(
        "dask-worker",
        [
            *(str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", str(workers)),
            *("--host", "127.0.0.1", "--no-dashboard", "--preload", "dashboard.worker_preload"),
        ],
        env,
    )

    def all_workers() -> bool:
        # the scheduler's own log, not a Client: in a gevent-patched process (bench/load)
        # Client.scheduler_info() came back without its "workers"
        return scheduler.log_text().count("Register worker addr:") >= workers

    wait_until(
        all_workers,
        "the Dask pool to have its workers",
        STARTUP_TIMEOUT,
        lambda: scheduler.log_text() + worker.log_text(),
    )
    return address


def start_redis(services, env: dict[str, str], port: int, folder: Path, name: str = "redis"):
    """Debian's redis-server on a loopback port, its files in `folder`, nothing persisted (a
    restart starts empty, as after a crash); returns its service once it answers PING."""
    require(REDIS)
    folder.mkdir(parents=True, exist_ok=True)
    server = services(
        name,
        [
            *(REDIS, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)),
            *("--save", "", "--appendonly", "no"),
        ],
        env,
    )
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=1)

    def answering() -> bool:
        if not server.alive():
            pytest.fail(f"{name} exited:\n{server.log_text()}", pytrace=False)
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    wait_until(answering, f"{name} to answer", 20, server.log_text)
    client.close()
    return server


CELERY_PROCESSES = 2  # the Celery worker's pool: job processes


def start_celery_worker(services, env: dict[str, str], name: str = "celery-worker"):
    """`celery -A app.celery worker` (REDIS_URL in `env`): the background jobs' processes."""
    worker = services(
        name,
        [
            *(str(BIN / "celery"), "-A", "app.celery", "worker", "--loglevel", "INFO"),
            *("--concurrency", str(CELERY_PROCESSES), "--without-gossip", "--without-mingle"),
        ],
        env,
    )
    wait_until(lambda: "ready." in worker.log_text(), f"{name} to be ready", 90, worker.log_text)
    return worker


def start_nginx(services, name: str, server_block: str):
    """Debian's nginx as a foreground process with a config of our own (no system config)."""
    require(NGINX)
    prefix = services.folder / name
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {prefix}/logs/access.log;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  # nginx's workers run as nobody when the tests run as root, and pytest's temp folders are 0700:
  # never buffer a response to disk (a big script would be cut short: ERR_CONTENT_LENGTH_MISMATCH)
  proxy_max_temp_file_size 0;
  client_max_body_size 50m;
  {server_block.replace("LISTEN", f"127.0.0.1:{port}")}
}}
"""
    )
    service = services(
        name, [NGINX, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"], os.environ.copy()
    )
    url = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        if not service.alive():
            pytest.fail(f"nginx exited:\n{service.log_text()}", pytrace=False)
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, "nginx to listen", 20, service.log_text)
    return service, url
