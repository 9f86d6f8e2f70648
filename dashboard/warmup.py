"""A Dask worker plugin that makes each worker warm as soon as it starts.

It loads the default model and compiles UMAP's numba code in a background thread of the
worker, so neither cost lands on a user's request and the worker takes tasks meanwhile.
"""

from __future__ import annotations

import logging
import threading

from distributed import WorkerPlugin

from dashboard.models.registry import ModelSpec

log = logging.getLogger(__name__)


class Warmup(WorkerPlugin):
    name = "qk-atlas-warmup"

    def __init__(self, model: ModelSpec | None, fingerprint: str, warm_umap: bool) -> None:
        self.model = model
        self.fingerprint = fingerprint
        self.warm_umap = warm_umap

    def setup(self, worker) -> None:
        threading.Thread(target=self._run, name="qk-atlas-warmup", daemon=True).start()

    def _run(self) -> None:
        from dashboard import tasks

        try:
            if self.model is not None:
                tasks._model(self.model, self.fingerprint)
            if self.warm_umap:
                seconds = tasks.warm_numba()
                log.info("numba warm in %.1f s", seconds)
        except Exception:  # warm-up is an optimisation: a failure shows up on the real task
            log.exception("worker warm-up failed")
