"""REDIS_URL: Dash's background jobs run on Celery workers through Redis (Debian's
redis-server, started here), and everything kept in Redis is JSON."""

from __future__ import annotations

import json

import pytest

from tests.deploy.browser import chromium
from tests.deploy.servers import (
    free_port,
    start_celery_worker,
    start_gunicorn,
    start_redis,
    wait_until,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def redis_url(services, base_env, tmp_path_factory):
    port = free_port()
    start_redis(services, base_env, port, tmp_path_factory.mktemp("redis"))
    return f"redis://127.0.0.1:{port}/0"


def test_jobs_run_on_celery_workers_and_redis_holds_only_json(
    services, base_env, dask_pool, redis_url, tmp_path
):
    # a cache of its own: a matrix already cached (other tests) needs no job at all
    env = {
        **base_env,
        "DASK_SCHEDULER_ADDRESS": dask_pool,
        "REDIS_URL": redis_url,
        "QKATLAS_CACHE_DIR": str(tmp_path),
    }
    worker = start_celery_worker(services, env)
    web, url = start_gunicorn(services, env, "web-celery", 2)
    driver = chromium()
    try:
        driver.get(url + "/")
        wait_until(
            lambda: "succeeded" in worker.log_text() and "background_callback" in worker.log_text(),
            "a background job run to the end by the Celery worker",
            240,
            lambda: worker.log_text()[-3000:] + web.log_text()[-2000:],
        )
        wait_until(
            lambda: driver.execute_script(
                "const g = document.querySelector('#matrix-graph .js-plotly-plot');"
                "return g && g.data && g.data.length;"
            ),
            "the matrix drawn from the Celery job's result",
            120,
        )
    finally:
        driver.quit()
    import redis

    client = redis.Redis.from_url(redis_url)
    values = [client.get(key) for key in client.keys("*") if client.type(key) == b"string"]
    assert values, "the job left its records in Redis"
    for value in values:
        json.loads(value)  # raises on anything that is not JSON (a pickle, say)
    assert "Traceback" not in web.log_text()
