"""The deployed form, started for a load run: a Dask pool started with Dask's own commands,
gunicorn with its web workers in front of it, identity from a (simulated) SSO proxy that adds
the shared secret header. The start-up helpers are the deployment tests' (tests/deploy/servers.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.servers import Services, start_dask_pool, start_gunicorn

SECRET = "load-test-proxy-secret"
GROUP = "ml-team"


@dataclass
class Deployment:
    url: str
    cache_dir: Path
    services: Services
    web_pid: int  # gunicorn's master
    pool_pids: list[int]  # the dask scheduler's and the dask worker command's

    def headers(self, user: str) -> dict[str, str]:
        """What the SSO proxy adds to a signed-in user's requests."""
        return {"X-Forwarded-Email": user, "X-Forwarded-Groups": GROUP, "X-Proxy-Secret": SECRET}

    def stop(self) -> None:
        self.services.stop_all()


def environment(cache_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "QKATLAS_CACHE_DIR": str(cache_dir),
        "QKATLAS_SECRET_KEY": "a-deployment-wide-secret-for-the-load-run",
        "QKATLAS_AUTH": "proxy",
        "QKATLAS_PROXY_SECRET": SECRET,
        "QKATLAS_ALLOWED_GROUPS": GROUP,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    return env


def deploy(folder: Path, web_workers: int = 4, pool_workers: int = 2) -> Deployment:
    """Starts everything (logs in `folder`); the caller stops it with `Deployment.stop()`."""
    folder.mkdir(parents=True, exist_ok=True)
    cache_dir = folder / "cache"
    services = Services(folder)
    env = environment(cache_dir)
    try:
        address = start_dask_pool(services, env, workers=pool_workers)
        pool_pids = [s.proc.pid for s in services.started]
        env = {**env, "DASK_SCHEDULER_ADDRESS": address}
        web, url = start_gunicorn(services, env, "gunicorn", workers=web_workers)
    except BaseException:  # pytest.fail raises a BaseException: stop what started
        services.stop_all()
        raise
    return Deployment(url, cache_dir, services, web.proc.pid, pool_pids)
