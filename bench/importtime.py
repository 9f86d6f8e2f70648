"""1. How long `import app` takes in a fresh interpreter, and which heavy libraries it pulls in.

`import app` builds the Dash app and (as the app does) starts the local worker pool, so this is
the time from a cold interpreter to a servable app. Torch, transformers and umap must stay out
of the web process: they belong to the workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from bench.machine import ROOT
from bench.timing import median

FORBIDDEN = ("torch", "transformers", "umap")
WATCHED = (*FORBIDDEN, "numba", "sklearn", "openTSNE", "distributed", "pandas")
SNIPPET = (
    "import json, sys, time; t = time.time(); import app; elapsed = time.time() - t; "
    f"loaded = [m for m in {WATCHED!r} if m in sys.modules]; "
    "print(json.dumps({'seconds': elapsed, 'modules': loaded}))"
)


@dataclass
class ImportRun:
    seconds: float  # inside the interpreter: `import app` only
    process_s: float  # the whole subprocess: interpreter start, import, pool shutdown at exit
    modules: list[str]


@dataclass
class ImportResult:
    runs: list[ImportRun] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return median([r.seconds for r in self.runs])

    @property
    def forbidden_loaded(self) -> list[str]:
        return sorted({m for r in self.runs for m in r.modules if m in FORBIDDEN})

    @property
    def watched_loaded(self) -> list[str]:
        return sorted({m for r in self.runs for m in r.modules})


def import_once(timeout_s: float = 180.0) -> ImportRun:
    """One fresh interpreter with its own empty cache directory."""
    with tempfile.TemporaryDirectory(prefix="qkatlas-bench-import-") as cache_dir:
        env = {**os.environ, "QKATLAS_CACHE_DIR": cache_dir}
        env.pop(
            "DASK_SCHEDULER_ADDRESS", None
        )  # the app must start its own pool, as `make run` does
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", SNIPPET],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        process_s = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"`import app` failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    data = json.loads(lines[-1])
    return ImportRun(float(data["seconds"]), process_s, list(data["modules"]))


def measure_imports(repeats: int = 3) -> ImportResult:
    return ImportResult([import_once() for _ in range(repeats)])
