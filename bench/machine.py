"""What the numbers were measured on: CPU, cores, RAM, library versions, date, commit."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = (
    "torch",
    "transformers",
    "umap-learn",
    "numba",
    "openTSNE",
    "scikit-learn",
    "numpy",
    "dask",
    "distributed",
    "dash",
    "plotly",
)
ROOT = Path(__file__).resolve().parent.parent
DIGEST_ROW = "app code digest (dashboard/**/*.py)"


def _proc_field(path: str, name: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def cpu_model() -> str:
    return _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown"


def ram_gib() -> str:
    total = _proc_field("/proc/meminfo", "MemTotal")
    return f"{int(total.split()[0]) / 1024**2:.1f} GiB" if total else "unknown"


def cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{usable} usable of {os.cpu_count()} logical CPUs"


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" (uncommitted changes in the tree)" if dirty else "")


def code_digest() -> str:
    """A short hash of the app's source (dashboard/**/*.py): shows whether it changed mid-run."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def describe() -> dict[str, str]:
    """Rows for the machine table, in display order."""
    rows = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": commit(),
        DIGEST_ROW: code_digest(),
        "CPU": cpu_model(),
        "cores": cores(),
        "RAM": ram_gib(),
        "OS": platform.platform(),
        "python": platform.python_version(),
    }
    rows.update({name: package_version(name) for name in PACKAGES})
    return rows
