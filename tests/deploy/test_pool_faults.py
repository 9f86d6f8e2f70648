"""The whole worker pool gone: a `dask scheduler` + `dask worker` pool (Dask's own commands)
killed with kill -9 under a running job, then started again on the same address. The job code
the web tier runs (views/progress.run_request) is called in this process, which is never
restarted: a clear message while the pool is gone, the same request computed once it is back."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from dashboard import catalog, dask_pool, failures
from dashboard.cache_keys import MapParams
from dashboard.config import Settings
from dashboard.views import progress
from dashboard.views.data import add_corpus
from dashboard.views.request import resolve_request
from tests.deploy.servers import BIN, ROOT, STARTUP_TIMEOUT, free_port, wait_until

GIVES_UP_WITHIN = 15  # s: the pool client's 10 s timeout, and some slack on a busy machine


def _start_pool(services, env, port: int, name: str):
    address = f"tcp://127.0.0.1:{port}"
    scheduler = services(
        f"{name}-scheduler",
        [
            str(BIN / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        env,
    )
    worker = services(
        f"{name}-worker",
        [
            *(str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1"),
            *("--host", "127.0.0.1", "--no-dashboard", "--preload", "dashboard.worker_preload"),
        ],
        env,
    )
    from distributed import Client

    def one_worker() -> bool:
        try:
            with Client(address, timeout="2s") as client:
                return len(client.scheduler_info()["workers"]) == 1
        except OSError:
            return False

    wait_until(one_worker, f"{name}: a pool with its worker", STARTUP_TIMEOUT, worker.log_text)
    with Client(address, timeout="10s") as client:  # this checkout's code, not another's
        where = client.run(lambda: __import__("dashboard").__file__)
    assert all(Path(p).is_relative_to(ROOT) for p in where.values()), where
    return scheduler, worker


def test_the_pool_killed_then_back_on_the_same_address(
    services, base_env, model_dirs, tmp_path, monkeypatch
):
    port = free_port()
    monkeypatch.setenv(dask_pool.ADDRESS_ENV, f"tcp://127.0.0.1:{port}")
    env = {**base_env, "MODEL_DIRS": str(model_dirs)}
    scheduler, worker = _start_pool(services, env, port, "pool-a")
    svc = catalog.configure(
        Settings(cache_dir=tmp_path / "cache", model_dirs=(model_dirs,), warm_umap=False)
    )
    text = "\n".join(f"Sentence {i} is about a pool of workers." for i in range(60))
    _, corpus_id, _ = add_corpus(text, [])
    request = resolve_request("local/tiny-bert", corpus_id, "tsne", 2, ["translate", "scale"])
    subject, _ = svc.subject(request["model"], request["corpus"])
    params = MapParams.from_dict(request["params"])
    maps = [subject.coords_key(layer, head, params) for layer, head in subject.heads()]

    ended: dict = {}
    job = threading.Thread(
        target=lambda: ended.update(progress.run_request(request, lambda p: None))
    )
    job.start()
    wait_until(lambda: svc.store.has(subject.tokens_key) or not job.is_alive(), "extraction", 120)
    scheduler.stop(signal.SIGKILL)  # the whole pool: its scheduler, then its worker
    worker.stop(signal.SIGKILL)
    killed = time.monotonic()
    job.join(timeout=GIVES_UP_WITHIN + 30)
    assert ended.get("status") == "error" and ended["message"] == failures.POOL_DOWN, ended
    assert time.monotonic() - killed < GIVES_UP_WITHIN

    # while it is gone, a new job says so once its connection times out (10 s; nothing cached)
    assert progress.run_request(request, lambda p: None)["message"] == failures.POOL_DOWN
    assert not all(svc.store.has(k) for k in maps)

    _start_pool(services, env, port, "pool-b")  # the operator starts it again: same address
    assert progress.run_request(request, lambda p: None) == {
        "key": request["key"],
        "status": "done",
        "message": "",
    }
    assert all(svc.store.has(k) for k in maps)
    assert not list(svc.store.root.rglob(".tmp-*"))
