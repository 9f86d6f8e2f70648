"""Redis gone under the Celery deployment (REDIS_URL): Debian's redis-server killed with kill -9
while a matrix job runs, then started again on the same port and folder (empty: nothing was
persisted). The user is a headless renderer (bench/load/dash_client.py) sending the browser's
requests to the real gunicorn, whose jobs run on a real `celery worker`; nothing is restarted
but Redis."""

from __future__ import annotations

import signal
import time

import psutil
import pytest
import requests

from bench.load.dash_client import DashClient
from dashboard import ids
from dashboard.failures import QUEUE_DOWN
from tests.deploy.servers import (
    CELERY_PROCESSES,
    free_port,
    start_celery_worker,
    start_gunicorn,
    start_redis,
    wait_until,
)

pytestmark = pytest.mark.browser
SAYS_SO_WITHIN = 10  # s from the kill to the sentence on the page (a poll every 0.7 s)
# s for a new request while Redis is gone: Celery's result consumer first tries to reconnect
# (redis-py's retries, with back-off): measured 0.1–19 s here
NEW_REQUEST_SAYS_SO_WITHIN = 30


class User:
    """The renderer's requests through one HTTP session; records every status, and runs
    `on_job` (once) as soon as the server has handed out a job, before its first poll."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.statuses: list[int] = []
        self.on_job = None
        self.client = DashClient(self.http, headers={})

    def http(self, method: str, path: str, name: str, **kwargs) -> tuple[int, str]:
        response = self.session.request(method, self.url + path, timeout=60, **kwargs)
        self.statuses.append(response.status_code)
        if self.on_job and "cacheKey" in response.text and "cacheKey" not in path:
            hook, self.on_job = self.on_job, None
            hook()
        return response.status_code, response.text

    def prop(self, cid: str, prop: str):
        return self.client.props.get((cid, prop))

    def job_ended(self) -> dict:
        result, request = self.prop(ids.JOB_RESULT, "data"), self.prop(ids.REQUEST, "data")
        assert result and request and result.get("key") == request.get("key"), (result, request)
        return result


def _cached(env: dict, request: dict) -> bool:
    """Whether the page would show `request` from the cache, with no job (views/progress)."""
    from dashboard import catalog, dask_pool
    from dashboard.cache_keys import MapParams
    from dashboard.config import Settings

    svc = catalog.configure(Settings.from_env(env))
    subject, _ = svc.subject(request["model"], request["corpus"])
    return dask_pool.cached_progress(subject, MapParams.from_dict(request["params"])) is not None


def _children(service) -> set[int]:
    return {child.pid for child in psutil.Process(service.proc.pid).children()}


def test_redis_killed_then_back_on_the_same_port(
    services, base_env, dask_pool, model_dirs, tmp_path
):
    port = free_port()
    folder = tmp_path / "redis"
    redis = start_redis(services, base_env, port, folder, "redis-a")
    env = {
        **base_env,
        "DASK_SCHEDULER_ADDRESS": dask_pool,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "MODEL_DIRS": str(model_dirs),
        "QKATLAS_CACHE_DIR": str(tmp_path / "cache"),
        "QKATLAS_CORPUS_SENTENCES": "12",
    }
    worker = start_celery_worker(services, env)
    web, url = start_gunicorn(services, env, "web-redis", 1)
    # the worker forks its pool's processes after it starts: the tier is whole once they are up
    deadline = time.monotonic() + 60
    while len(_children(worker)) < CELERY_PROCESSES:
        assert time.monotonic() < deadline, "the Celery worker's pool never came up"
        time.sleep(0.2)
    tier = {"web": (web.proc.pid, _children(web)), "jobs": (worker.proc.pid, _children(worker))}
    user = User(url)
    user.client.load_page("?model=local/tiny-bert&method=pca", timeout=120)
    assert user.job_ended()["status"] == "done"
    # its maps are drawn; the heads' metrics follow on the pool: cached once they are stored
    shown = user.prop(ids.REQUEST, "data")
    wait_until(lambda: _cached(env, shown), "the 2-D request's maps and metrics stored", 120)

    # the user asks for a 3-D map; Redis is killed once the job is handed out, before its first
    # poll (PCA throughout: quick maps, the test is about the queue)
    killed: list[float] = []
    user.on_job = lambda: (redis.stop(signal.SIGKILL), killed.append(time.monotonic()))
    user.client.act({(ids.DIMS, "value"): 3}, timeout=60)
    assert killed, "no job was handed out"
    said = time.monotonic() - killed[0]
    assert user.prop(ids.JOB_RESULT, "data") == {
        "key": None,  # a poll does not say which request it follows
        "status": "error",
        "message": QUEUE_DOWN,
    }
    assert user.prop(ids.ALERT, "children") == QUEUE_DOWN
    assert user.prop(ids.ALERT, "hidden") is False
    assert said < SAYS_SO_WITHIN

    # while it is gone, the map drawn before is shown again from the cache (it needs no job)
    user.client.act({(ids.DIMS, "value"): 2}, timeout=60)
    assert user.job_ended()["status"] == "done"
    assert user.prop(ids.ALERT, "hidden") is True
    # and a new request says the queue is gone (its job cannot be handed out)
    asked = time.monotonic()
    user.client.act({(ids.OPTIONS, "value"): []}, timeout=60)
    assert time.monotonic() - asked < NEW_REQUEST_SAYS_SO_WITHIN
    ended = user.job_ended()  # this time it names the request
    assert (ended["status"], ended["message"]) == ("error", QUEUE_DOWN)
    assert user.prop(ids.ALERT, "children") == QUEUE_DOWN

    # the operator starts Redis again, same port and folder, empty: the same web tier and the
    # same Celery worker (it reconnects by its own retry) compute a new request to the end:
    # 3-D without norm scaling (a request no job had, so no result of one is reused)
    start_redis(services, base_env, port, folder, "redis-b")
    user.client.act({(ids.DIMS, "value"): 3, (ids.OPTIONS, "value"): ["translate"]}, timeout=120)
    assert user.job_ended()["status"] == "done"
    back = worker.log_text().rsplit("Connected to redis://", 1)[-1]
    assert "PCA 3D, key translation on" in back and "succeeded" in back, back
    assert user.prop(ids.ALERT, "hidden") is True
    assert tier == {
        "web": (web.proc.pid, _children(web)),
        "jobs": (worker.proc.pid, _children(worker)),
    }
    assert worker.log_text().count("Connected to redis://") == 2, worker.log_text()[-3000:]
    assert all(status < 500 for status in user.statuses), user.statuses
    assert "Traceback" not in web.log_text()
