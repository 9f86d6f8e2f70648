"""Dash's background-callback manager: diskcache for job bookkeeping only (results go to Store)."""

from __future__ import annotations

from dashboard.config import Settings


def manager(settings: Settings):
    import diskcache
    from dash import DiskcacheManager

    folder = settings.cache_dir / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return DiskcacheManager(diskcache.Cache(str(folder)), expire=3600)
