"""The runtime folder: state that lives as long as the machine, kept outside the cache folder.

Job bookkeeping (Dash's job store, the per-user line) and maps the cache could not take
(full or read-only) go here, so a full or read-only cache folder stops neither jobs nor maps.
One folder per user and cache folder, under the system's temporary folder (TMPDIR moves it):
every process of one deployment on one machine — web workers, job processes, Dask workers —
derives the same path from the cache folder alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path


class UnsafeFolder(RuntimeError):
    """A runtime folder someone else owns or can write: refused (it holds job data)."""


def runtime_dir(cache_dir: Path | str) -> Path:
    digest = hashlib.sha256(str(Path(cache_dir).resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"qkatlas-{os.getuid()}" / digest


def private_folder(path: Path) -> Path:
    """Creates `path` 0700, one level at a time from the temporary folder down, and refuses it
    unless this user owns every level, none a symlink: in a shared /tmp a stranger could have
    made one first. Elsewhere (a cache folder) only `path` itself is checked."""
    top = Path(tempfile.gettempdir())
    if path.is_relative_to(top):
        below = path.relative_to(top)
        folders = [top / level for level in [*reversed(below.parents), below][1:]]
    else:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        folders = [path]
    for folder in folders:
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)  # never through a symlink: each level checked below
        info = folder.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
            raise UnsafeFolder(f"{folder} is not this user's own folder: remove it and restart")
        if info.st_mode & 0o077:
            os.chmod(folder, 0o700)  # ours, but opened up: closed again
    return path
