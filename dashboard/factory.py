"""create_app(): the Dash app, its callbacks, the job manager, the worker pool, /healthz."""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import threading
from pathlib import Path

from dash import Dash
from flask import Flask, send_from_directory

from dashboard import auth, background, catalog, compression, security, shutdown
from dashboard.config import ROOT, Settings

log = logging.getLogger(__name__)

# Bootstrap's stylesheet (what dash-bootstrap-components draws with), served by this app from the
# installed django-bootstrap-static package: no CDN (dbc.themes are CDN addresses).
BOOTSTRAP_CSS = "/_vendor/bootstrap/bootstrap.min.css"
FIRST_SCRIPT = "native-trim.js"  # an asset that must also run before Dash's own scripts


class QKDash(Dash):
    """Dash with one asset loaded before Dash's scripts as well (see assets/native-trim.js)."""

    def interpolate_index(self, **kwargs) -> str:
        first = f'<script src="{self.get_asset_url(FIRST_SCRIPT)}"></script>'
        return super().interpolate_index(**{**kwargs, "scripts": first + kwargs["scripts"]})


def create_app(settings: Settings | None = None, start_workers: bool = True) -> Dash:
    settings = settings or Settings.from_env()
    svc = catalog.configure(settings)

    # Importing the views registers their callbacks (dash.callback).
    from dashboard.views import (  # noqa: F401
        analysis,
        compare,
        data,
        export,
        fidelity,
        head,
        image,
        legend,
        matrix,
        measure,
        page_load,
        place,
        progress,
        request,
        scale,
        search,
        sentence,
        shell,
        similarity,
        url,
        webgl,
    )

    app = QKDash(
        __name__,
        title="QK Atlas",
        assets_folder=str(ROOT / "assets"),
        serve_locally=True,  # no CDN: works offline and behind a strict proxy
        external_stylesheets=[BOOTSTRAP_CSS],  # served below, before assets/*.css
        background_callback_manager=background.manager(settings),
        suppress_callback_exceptions=False,
        update_title=None,
    )
    app.server.secret_key = settings.secret_key
    auth.install(app.server, settings)
    security.install(app, settings)
    compression.install(app.server)
    _serve_bootstrap(app.server)
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
    # Dash learns which component files it may serve when it first renders the page; render it
    # once here, so each gunicorn worker serves /_dash-component-suites even when another worker
    # served the page (otherwise a 500: "the path requested is not valid").
    with app.server.test_request_context("/"):
        app.index()
    # Dash takes in the callbacks and checks the layout on the first request it serves, after
    # marking itself set up: requests arriving at once on a new gunicorn worker's threads found
    # no callback (a 500 "Callback function not found", seen under load after a reload). Serve
    # one request here, before any visitor's (/healthz needs no identity).
    app.server.test_client().get("/healthz")
    return app


def _bootstrap_css_dir() -> Path:
    spec = importlib.util.find_spec("bootstrap")  # django-bootstrap-static: files only
    where = spec and spec.submodule_search_locations
    folder = Path(where[0]) / "static" / "bootstrap" / "css" if where else None
    if folder is None or not (folder / "bootstrap.min.css").is_file():
        raise RuntimeError(
            "Bootstrap's CSS is missing: install the project's dependencies "
            "(`make install`, or `pip install django-bootstrap-static==5.3.3`)"
        )
    return folder


def _serve_bootstrap(server: Flask) -> None:
    folder = _bootstrap_css_dir()

    @server.get(BOOTSTRAP_CSS)
    def bootstrap_css():
        return send_from_directory(folder, "bootstrap.min.css", max_age=86400)


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
        if shutdown.STOPPING.is_set():
            return  # the app is stopping: the pool went away under the computation
        log.warning("pre-computing the default matrix failed", exc_info=True)
