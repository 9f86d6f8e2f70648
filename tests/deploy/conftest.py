"""Fixtures of the deployment tests: the servers (tests/deploy/servers.py), started once per
session on free loopback ports and stopped at its end."""

from __future__ import annotations

import os

import pytest

from tests.deploy.servers import BIN, STARTUP_TIMEOUT, Service, free_port, wait_until


@pytest.fixture(scope="session")
def services(tmp_path_factory):
    """Starts services on demand; stops every one at the end of the session."""
    started: list[Service] = []
    folder = tmp_path_factory.mktemp("deploy")

    def start(name: str, args: list[str], env: dict[str, str]) -> Service:
        service = Service(name, args, env, folder)
        started.append(service)
        return service

    start.folder = folder  # type: ignore[attr-defined]
    yield start
    for service in reversed(started):
        service.stop()


@pytest.fixture(scope="session")
def base_env(tmp_path_factory) -> dict[str, str]:
    """What every web host and worker of one deployment shares: the cache, the secret key."""
    env = {
        **os.environ,
        "QKATLAS_CACHE_DIR": str(tmp_path_factory.mktemp("shared") / "cache"),
        "QKATLAS_SECRET_KEY": "a-deployment-wide-secret-for-tests",
        "QKATLAS_WARM_UMAP": "0",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    return env


@pytest.fixture(scope="session")
def dask_pool(services, base_env) -> str:
    """One shared pool started with Dask's own commands: a scheduler and one warm worker."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = services(
        "dask-scheduler",
        [
            str(BIN / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        base_env,
    )
    worker = services(
        "dask-worker",
        [
            *(str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1"),
            *("--host", "127.0.0.1", "--no-dashboard", "--preload", "dashboard.worker_preload"),
        ],
        base_env,
    )
    from distributed import Client

    def one_worker() -> bool:
        try:
            with Client(address, timeout="2s") as client:
                return len(client.scheduler_info()["workers"]) == 1
        except OSError:
            return False

    wait_until(
        one_worker,
        "the Dask pool to have its worker",
        STARTUP_TIMEOUT,
        lambda: scheduler.log_text() + worker.log_text(),
    )
    return address
