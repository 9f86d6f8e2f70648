"""create_app(): the Dash app, its callbacks, the job manager, the worker pool, /healthz."""

from __future__ import annotations

import logging
import multiprocessing
import threading

from dash import Dash

from dashboard import background, catalog
from dashboard.config import ROOT, Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, start_workers: bool = True) -> Dash:
    settings = settings or Settings.from_env()
    svc = catalog.configure(settings)

    # Importing the views registers their callbacks (dash.callback).
    from dashboard.views import (  # noqa: F401
        data,
        head,
        image,
        legend,
        matrix,
        progress,
        request,
        search,
        sentence,
        shell,
        url,
        webgl,
    )

    app = Dash(
        __name__,
        title="QK Atlas",
        assets_folder=str(ROOT / "assets"),
        serve_locally=True,  # no CDN: works offline and behind a strict proxy
        background_callback_manager=background.manager(settings),
        suppress_callback_exceptions=False,
        update_title=None,
    )
    app.server.secret_key = settings.secret_key
    app.layout = shell.layout

    @app.server.get("/healthz")
    def healthz():
        return {"ok": True, "models": sorted(svc.registry.models)}

    # Spawned worker processes re-import the main module: only the top process starts the pool.
    if (
        start_workers
        and settings.scheduler_address is None
        and multiprocessing.parent_process() is None
    ):
        _start_pool(settings, svc)
    return app


def _start_pool(settings: Settings, svc: catalog.Catalog) -> None:
    from dashboard import dask_pool
    from dashboard.models.registry import DEFAULT_MODEL, fingerprint

    spec = svc.registry.models.get(DEFAULT_MODEL)
    try:
        dask_pool.start_local_cluster(settings, spec, fingerprint(spec) if spec else "")
    except Exception:
        log.exception("could not start the worker pool")
        return
    if settings.prewarm and spec is not None:
        threading.Thread(target=_prewarm, args=(svc,), name="qk-atlas-prewarm", daemon=True).start()


def _prewarm(svc: catalog.Catalog) -> None:
    """The page opens on the default model, corpus and PCA: have that matrix cached before the
    first visitor asks (identical tasks from a visitor share this computation)."""
    from dashboard import dask_pool
    from dashboard.cache_keys import MapParams
    from dashboard.models.corpora import DEFAULT_CORPUS
    from dashboard.models.registry import DEFAULT_MODEL

    try:
        subject, corpus = svc.subject(DEFAULT_MODEL, DEFAULT_CORPUS)
        with dask_pool.client() as pool:
            dask_pool.run_matrix(
                pool, subject, corpus, MapParams(seed=svc.settings.seed), lambda _: None
            )
    except Exception:  # an optimisation only: the visitor's own job reports any real failure
        log.warning("pre-computing the default matrix failed", exc_info=True)
