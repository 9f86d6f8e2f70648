"""The result cache: content-addressed npz arrays + JSON sidecars, atomic writes, no pickle.

A key is the SHA-256 of the canonical JSON of everything that changes the output. A corrupt or
half-written entry reads as a miss (and is removed), so it is recomputed rather than crashing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

_READ_LOCK = threading.Lock()

# Bump when a change in this codebase changes what is stored.
CODE_VERSION = "2"


def make_key(kind: str, **inputs: Any) -> str:
    payload = json.dumps(
        {"kind": kind, "code": CODE_VERSION, **inputs}, sort_keys=True, default=str
    )
    return f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:32]}"


class Store:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key.split("-", 1)[0] / key[-2:]
        return folder / f"{key}.npz", folder / f"{key}.json"

    def has(self, key: str) -> bool:
        arrays, meta = self._paths(key)
        return arrays.exists() and meta.exists()

    def save(self, key: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Arrays first, sidecar last: a present sidecar means the arrays are complete."""
        npz_path, json_path = self._paths(key)
        npz_path.parent.mkdir(parents=True, exist_ok=True)
        for arr in arrays.values():
            if np.asarray(arr).dtype == object:
                raise TypeError("object arrays would need pickle; store strings as fixed-width")
        _atomic_write(npz_path, lambda f: np.savez(f, **arrays))
        body = json.dumps({"key": key, **meta}, sort_keys=True, default=str).encode()
        _atomic_write(json_path, lambda f: f.write(body))

    def load(self, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        npz_path, json_path = self._paths(key)
        if not (npz_path.exists() and json_path.exists()):
            return None
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
        _, json_path = self._paths(key)
        try:
            return json.loads(json_path.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def discard(self, key: str) -> None:
        for path in self._paths(key):
            path.unlink(missing_ok=True)


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
