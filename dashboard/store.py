"""The result cache: content-addressed npz arrays + JSON sidecars, atomic writes, no pickle.

A key is the SHA-256 of the canonical JSON of everything that changes the output. A corrupt or
half-written entry reads as a miss (and is removed), so it is recomputed rather than crashing.
A cache folder that is full or read-only does not lose a result: it goes to the overflow folder
(in the runtime folder, `dashboard/runtime.py`), read like the cache until the machine restarts.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.runtime import private_folder, runtime_dir

log = logging.getLogger(__name__)

# what a write answers when the folder is full or read-only (or not ours to write)
UNWRITABLE = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)

_READ_LOCK = threading.Lock()
# A write's temporary file left this long was abandoned (its process was killed mid-write): the
# longest write, a big model's extraction, takes minutes
ABANDONED_AFTER_S = 3600

# Bump when a change in this codebase changes what is stored.
CODE_VERSION = "2"


def make_key(kind: str, **inputs: Any) -> str:
    payload = json.dumps(
        {"kind": kind, "code": CODE_VERSION, **inputs}, sort_keys=True, default=str
    )
    return f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:32]}"


_WARNED: set[Path] = set()  # cache folders this process has warned about


class Store:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.overflow = runtime_dir(self.root) / "overflow"

    def _paths(self, key: str, root: Path | None = None) -> tuple[Path, Path]:
        folder = (root or self.root) / key.split("-", 1)[0] / key[-2:]
        return folder / f"{key}.npz", folder / f"{key}.json"

    def _found(self, key: str) -> tuple[Path, Path] | None:
        """The entry's files, in the cache or else in the overflow folder."""
        for root in (self.root, self.overflow):
            arrays, meta = self._paths(key, root)
            if arrays.exists() and meta.exists():
                return arrays, meta
        return None

    def has(self, key: str) -> bool:
        return self._found(key) is not None

    def overflowed(self, key: str) -> bool:
        """Stored in the overflow folder: lost when the machine restarts."""
        found = self._found(key)
        return found is not None and found[0].is_relative_to(self.overflow)

    def save(self, key: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        for arr in arrays.values():
            if np.asarray(arr).dtype == object:
                raise TypeError("object arrays would need pickle; store strings as fixed-width")
        self._put(key, lambda path: _atomic_write(path, lambda f: np.savez(f, **arrays)), meta)

    def adopt(self, key: str, npz: Path, meta: dict[str, Any]) -> None:
        """An .npz this process finished elsewhere (npz_in_place) becomes the entry's arrays:
        moved when it is on the cache's file system, else copied."""
        self._put(key, lambda path: _atomic_move(npz, path), meta)

    def _put(self, key: str, put_arrays: Callable[[Path], None], meta: dict[str, Any]) -> None:
        try:
            self._write(key, put_arrays, meta, self.root)
        except OSError as exc:
            if exc.errno not in UNWRITABLE:
                raise
            if self.root not in _WARNED:
                _WARNED.add(self.root)
                log.warning(
                    "the cache %s cannot be written (%s): results go to %s until it can",
                    self.root,
                    exc.strerror,
                    self.overflow,
                )
            try:
                self._write(key, put_arrays, meta, private_folder(self.overflow))
            except OSError:
                raise exc from None  # the cache's own failure is the one to report

    def _write(self, key: str, put_arrays: Callable[[Path], None], meta: dict, root: Path) -> None:
        """Arrays first, sidecar last: a present sidecar means the arrays are complete."""
        npz_path, json_path = self._paths(key, root)
        npz_path.parent.mkdir(parents=True, exist_ok=True)
        put_arrays(npz_path)
        body = json.dumps({"key": key, **meta}, sort_keys=True, default=str).encode()
        _atomic_write(json_path, lambda f: f.write(body))

    def load(self, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        found = self._found(key)
        if found is None:
            return None
        npz_path, json_path = found
        try:
            meta = json.loads(json_path.read_text())
            # npz headers are parsed with ast.literal_eval, which is not thread-safe on Python
            # 3.11.7 (SystemError: AST constructor recursion depth mismatch, seen under gunicorn's
            # and Flask's threads): one reader at a time; a load takes milliseconds.
            with _READ_LOCK, np.load(npz_path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, json.JSONDecodeError):
            self.discard(key)
            return None
        return arrays, meta

    def load_meta(self, key: str) -> dict[str, Any] | None:
        found = self._found(key)
        try:
            return json.loads(found[1].read_text()) if found else None
        except (OSError, json.JSONDecodeError):
            return None

    def discard(self, key: str) -> None:
        for root in (self.root, self.overflow):
            for path in self._paths(key, root):
                with contextlib.suppress(OSError):  # gone already, or a read-only cache
                    path.unlink(missing_ok=True)

    def sweep_abandoned(self, older_than_s: float = ABANDONED_AFTER_S) -> int:
        """Removes the temporary files of writes whose process was killed mid-write (a worker
        SIGKILLed by Dask's memory limit, a deploy's restart), in the cache and its overflow
        folder; returns how many. Recent ones may belong to a write still running."""
        before = time.time() - older_than_s
        removed = 0
        for root in (self.root, self.overflow):
            for tmp in root.rglob(".tmp-*") if root.is_dir() else ():
                with contextlib.suppress(OSError):  # gone already, or not ours to remove
                    if tmp.is_file() and tmp.stat().st_mtime < before:
                        tmp.unlink()
                        removed += 1
        return removed


def _atomic_move(source: Path, path: Path) -> None:
    try:
        os.replace(source, path)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _atomic_write(path, lambda f: _copy_from(source, f))  # another file system


def _copy_from(source: Path, target) -> None:
    with open(source, "rb") as f:
        shutil.copyfileobj(f, target, 2**24)


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
