"""App-level fixtures: configured services on a temporary cache, computed in-process."""

from __future__ import annotations

import pytest

from dashboard import catalog, worker_tasks
from dashboard.cache_keys import MapParams
from dashboard.config import Settings

SENTENCES = "\n".join(
    [
        "The quick brown fox jumps over the lazy dog.",
        "Attention heads match queries to keys in every layer.",
        "A short one.",
        "Paris is the capital of France, and Berlin is the capital of Germany.",
        "She said <script>alert('x')</script> &amp; left.",
    ]
)


@pytest.fixture
def sentences() -> str:
    return SENTENCES


@pytest.fixture
def svc(tmp_path, model_dirs):
    return catalog.configure(
        Settings(cache_dir=tmp_path / "cache", model_dirs=(model_dirs,), warm_umap=False)
    )


@pytest.fixture
def tiny_request(svc):
    """A request for the tiny model on a small user corpus, with Q/K extracted and PCA done."""
    from dashboard.views.data import add_corpus
    from dashboard.views.request import resolve_request

    _, corpus_id, _ = add_corpus(SENTENCES, [])
    request = resolve_request("local/tiny-bert", corpus_id, "pca", 2, ["translate", "scale"])
    subject, corpus = svc.subject("local/tiny-bert", corpus_id)
    worker_tasks.extract_task(subject, corpus)
    for layer, head in subject.heads():
        worker_tasks.project_task(subject, layer, head, MapParams())
    return request


@pytest.fixture(scope="session")
def pool_address(tmp_path_factory):
    """One real Dask LocalCluster (2 worker processes) for every app test that needs a pool."""
    from dashboard import dask_pool

    settings = Settings(cache_dir=tmp_path_factory.mktemp("pool"), warm_umap=False)
    address = dask_pool.start_local_cluster(settings)
    yield address
    dask_pool.stop_local_cluster()


@pytest.fixture(scope="session")
def web_app(tmp_path_factory):
    """The one Dash app of this test process: Dash hands the callbacks registered with
    dash.callback to the first app that serves a request, so every app test shares this one."""
    from dashboard.factory import create_app

    settings = Settings(cache_dir=tmp_path_factory.mktemp("web-app"), prewarm=False)
    return create_app(settings, start_workers=False)
