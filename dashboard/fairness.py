"""Fair shares of the worker pool: at most QKATLAS_MAX_JOBS_PER_USER matrix jobs of one user run at
once; the others wait in line, first come first served, and see their place.

Places are leases in a JSON diskcache that the job processes of one machine share (the runtime
folder): a running or waiting job renews its lease every few seconds from a thread, so a job that
was cancelled, killed or abandoned (background.stop_when_abandoned) frees its place within LEASE_S
without anyone cleaning up.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import diskcache

LEASE_S = 20.0  # a place nobody renewed for this long is free again
BEAT_S = 2.0


def _renew(places: dict, job: str) -> None:
    places.setdefault(job, {"since": time.time(), "running": True})["beat"] = time.time()


class Line:
    def __init__(self, cache: diskcache.Cache, limit: int) -> None:
        self.cache = cache
        self.limit = limit

    def _update(self, user: str, job: str, change: Callable[[dict], dict | None]):
        """Runs `change` on this user's places (stale ones dropped) in one transaction."""
        key = f"line:{user}"
        with self.cache.transact():
            now = time.time()
            places = {
                j: p for j, p in (self.cache.get(key) or {}).items() if now - p["beat"] < LEASE_S
            }
            result = change(places)
            self.cache.set(key, places, expire=3600)
        return result

    def _try_to_start(self, user: str, job: str) -> int:
        """0 once this job runs; else its place in line (1 = next)."""

        def change(places: dict) -> int:
            me = places.setdefault(job, {"since": time.time(), "running": False})
            me["beat"] = time.time()
            if me["running"]:
                return 0
            running = sum(p["running"] for p in places.values())
            waiting = sorted((p["since"], j) for j, p in places.items() if not p["running"])
            place = [j for _, j in waiting].index(job) + 1
            if place <= self.limit - running:
                me["running"] = True
                return 0
            return place

        return self._update(user, job, change)

    @contextmanager
    def turn(self, user: str | None, waiting: Callable[[int], None]) -> Iterator[None]:
        """Waits for a place (reporting it each time it changes), holds it while the block runs."""
        if not user or self.limit <= 0:
            yield
            return
        job, stop = uuid.uuid4().hex, threading.Event()
        reported = None
        while place := self._try_to_start(user, job):
            if place != reported:
                waiting(place)
                reported = place
            time.sleep(1.0)

        def renew() -> None:
            while not stop.wait(BEAT_S):
                self._update(user, job, lambda places: _renew(places, job))

        beat = threading.Thread(target=renew, name="qk-atlas-lease", daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            self._update(user, job, lambda places: places.pop(job, None))
