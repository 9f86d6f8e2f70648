"""`dask worker … --preload dashboard.worker_preload`: a worker of a shared pool warms up as the
app's own LocalCluster workers do (the default model loaded, UMAP's numba code compiled)."""

from __future__ import annotations

from dashboard.config import Settings
from dashboard.models.registry import DEFAULT_MODEL, discover, fingerprint
from dashboard.warmup import Warmup


def dask_setup(worker) -> None:
    settings = Settings.from_env()
    spec = discover(settings.model_dirs, settings.cache_dir).models.get(DEFAULT_MODEL)
    warmup = Warmup(spec, fingerprint(spec) if spec else "", settings.warm_umap)
    warmup.setup(worker)
