"""One small thread-safe least-recently-used cache for the in-memory caches of both processes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LockedLRU(Generic[V]):
    """Keeps the `size` most recently used values. `get` loads a missing value under the lock, so
    two threads asking for one model load it once; a loader's None is returned, not kept."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: Hashable, load: Callable[[], V | None]) -> V | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            value = load()
            if value is not None:
                self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return value

    def __len__(self) -> int:
        return len(self._items)
