"""Fixtures of the deployment tests: the servers (tests/deploy/servers.py), started once per
session on free loopback ports and stopped at its end."""

from __future__ import annotations

import os

import pytest

from tests.deploy.servers import Services, start_dask_pool


@pytest.fixture(scope="session")
def services(tmp_path_factory):
    """Starts services on demand; stops every one at the end of the session."""
    started = Services(tmp_path_factory.mktemp("deploy"))
    yield started
    started.stop_all()


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
    return start_dask_pool(services, base_env, workers=1)
