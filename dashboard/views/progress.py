"""The background job: extraction + projections on the warm workers, with progress and cancel.

The job function runs in a process of Dash's background-callback manager; it only submits
tasks to the Dask pool and relays progress, so the web process stays responsive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from dash import Input, Output, callback, ctx, no_update

from dashboard import dask_pool, ids
from dashboard.auth import vouched_user
from dashboard.cache_keys import MapParams
from dashboard.catalog import current

log = logging.getLogger(__name__)


def run_request(request: dict, report: Callable[[dict], None]) -> dict:
    """Runs one matrix request to the end; returns how it ended (never raises to the UI)."""
    try:
        svc = current()
        user = vouched_user(request, svc.settings.secret_key)
        log.info("job %s on %s by %s", request.get("title"), request.get("corpus"), user or "-")
        subject, corpus = svc.subject(request["model"], request["corpus"], user)
        params = MapParams.from_dict(request["params"])
        with dask_pool.client() as pool:
            dask_pool.run_matrix(pool, subject, corpus, params, lambda p: report(p.to_dict()))
    except Exception as exc:  # shown to the user as a message, never as a traceback
        return {
            "key": request.get("key"),
            "status": "error",
            "message": dask_pool.user_message(exc),
        }
    return {"key": request["key"], "status": "done", "message": ""}


@callback(
    Output(ids.JOB_RESULT, "data"),
    Input(ids.REQUEST, "data"),
    background=True,
    progress=Output(ids.JOB_PROGRESS, "data"),
    running=[
        (Output(ids.JOB_PANEL, "hidden"), False, True),
        (Output(ids.JOB_CANCEL, "disabled"), False, True),
    ],
    cancel=[Input(ids.JOB_CANCEL, "n_clicks")],
    interval=700,
    prevent_initial_call=True,
)
def run_job(set_progress, request):
    if not request or request.get("error"):
        return no_update
    return run_request(request, set_progress)


@callback(
    Output(ids.JOB_BAR, "value"),
    Output(ids.JOB_BAR, "max"),
    Output(ids.JOB_TEXT, "children"),
    Input(ids.JOB_PROGRESS, "data"),
)
def show_progress(progress):
    if not progress:
        return "0", "1", "Starting…"
    total = max(int(progress["total"]), 1)
    return (
        str(progress["done"]),
        str(total),
        f"{progress['phase']} — {progress['done']} of {total} maps",
    )


@callback(
    Output(ids.ALERT, "children"),
    Output(ids.ALERT, "hidden"),
    Input(ids.REQUEST, "data"),
    Input(ids.JOB_RESULT, "data"),
    Input(ids.JOB_CANCEL, "n_clicks"),
)
def alert(request, result, cancelled):
    if ctx.triggered_id == ids.JOB_CANCEL and cancelled:
        return (
            "Cancelled. Heads finished so far are kept in the cache; change a setting to resume.",
            False,
        )
    if request and request.get("error"):
        return request["error"], False
    if (
        result
        and result.get("status") == "error"
        and result.get("key") == (request or {}).get("key")
    ):
        return result["message"], False
    return "", True
