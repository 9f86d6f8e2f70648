"""The background job: extraction + projections on the warm workers, with progress and cancel.

The job function runs in a process of Dash's background-callback manager; it only submits
tasks to the Dask pool and relays progress, so the web process stays responsive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

import flask
from dash import Input, Output, State, callback, ctx, no_update

from dashboard import dask_pool, failures, ids
from dashboard.auth import vouched_user
from dashboard.background import json_cache, stop_when_abandoned
from dashboard.cache_keys import MapParams, Subject
from dashboard.catalog import current
from dashboard.components.panels import STARTING
from dashboard.dask_pool import Progress
from dashboard.fairness import Line
from dashboard.models.corpora import Corpus, cut_notice
from dashboard.runtime import runtime_dir

log = logging.getLogger(__name__)


def best_effort(report: Callable[[dict], None]) -> Callable[[dict], None]:
    """Progress goes through the job store (SQLite); under load a write can time out on its
    lock. A report is a snapshot the next one replaces: a lost one must not fail the job (it
    did, as "The computation failed (Timeout)", under 20 users: bench/load)."""
    import diskcache

    def reporting(progress: dict) -> None:
        try:
            report(progress)
        except diskcache.Timeout:
            log.warning("a progress report was dropped: the job store was busy")

    return reporting


class Asked(NamedTuple):
    """What a job's request names, read as its job computes it."""

    user: str | None
    subject: Subject
    corpus: Corpus
    params: MapParams


def asked(request: dict) -> Asked:
    """The one reading of a request for the matrix and analysis jobs and their cached ends: the
    user from the request's signature, the corpus with its generated tokens."""
    svc = current()
    user = vouched_user(request, svc.settings.secret_key)
    subject, corpus = svc.subject(
        request["model"], request["corpus"], user, generate=request.get("generate", 0)
    )
    return Asked(user, subject, corpus, MapParams.from_dict(request["params"]))


def run_request(request: dict, report: Callable[[dict], None]) -> dict:
    """Runs one matrix request to the end; returns how it ended (never raises to the UI)."""
    report = best_effort(report)
    try:
        svc = current()
        stop_when_abandoned(svc.settings)
        user, subject, corpus, params = asked(request)
        log.info("job %s on %s by %s", request.get("title"), request.get("corpus"), user or "-")
        line = Line(
            json_cache(runtime_dir(svc.settings.cache_dir) / "line"), svc.settings.max_jobs_per_user
        )

        def waiting(place: int) -> None:
            n_maps = subject.model.n_layers * subject.model.n_heads
            report(
                Progress(request["key"], n_maps, phase="waiting", message=in_line(place)).to_dict()
            )

        with line.turn(user, waiting), dask_pool.client() as pool:
            dask_pool.run_matrix(pool, subject, corpus, params, lambda p: report(p.to_dict()))
        notice = ended_notice(subject, corpus, params)
    except Exception as exc:  # shown to the user as a message, never as a traceback
        return {
            "key": request.get("key"),
            "status": "error",
            "message": failures.user_message(exc),
        }
    return {"key": request["key"], "status": "done", "message": notice}


def ended_notice(subject: Subject, corpus: Corpus, params: MapParams) -> str:
    """What a finished matrix says once drawn: sentences cut to the model's context, maps the
    cache could not take."""
    store = current().store
    notice = cut_notice(subject.model.name, store.load_meta(subject.tokens_key), corpus)
    if any(store.overflowed(subject.coords_key(*lh, params)) for lh in subject.heads()):
        notice = f"{notice} {failures.CACHE_OVERFLOW}".strip()
    return notice


@callback(
    Output(ids.JOB_WANTED, "data"),
    Output(ids.JOB_PROGRESS, "data", allow_duplicate=True),
    Output(ids.JOB_RESULT, "data", allow_duplicate=True),
    Input(ids.REQUEST, "data"),
    State(ids.JOB_WANTED, "data"),
    State(ids.JOB_RESULT, "data"),
    prevent_initial_call=True,
)
def start_job(request, wanted, result):
    """A job for a request with maps left to compute; a cached one ends here, as its job
    would have ended, with no job process. A job still running for the request shown before
    is ended first (the renderer stops a background callback's job when it is called again)."""
    if not request or request.get("error"):
        return no_update, no_update, no_update
    ended = cached_end(request)
    if ended is None:
        return request, no_update, no_update
    # a job lost to the queue ended too, though its end could not name it (`job_lost`)
    running = wanted and not unnamed(result) and (result or {}).get("key") != wanted.get("key")
    return (None if running else no_update), *ended


def cached_end(request: dict) -> tuple[dict, dict] | None:
    """(progress, result) of a request whose maps are all cached; None when it needs a job
    (or when it cannot be told here: the job says what is wrong)."""
    try:
        _, subject, corpus, params = asked(request)
        progress = dask_pool.cached_progress(subject, params)
        if progress is None:
            return None
        result = {"key": request["key"], "status": "done", "message": ""}
        return progress.to_dict(), {**result, "message": ended_notice(subject, corpus, params)}
    except Exception:  # the job tells the user what is wrong, as a sentence
        log.debug("a request left to its job", exc_info=True)
        return None


def job_lost(exc: Exception, request: dict | None, **more) -> dict:
    """How a background job ended when Dash itself could not start it or read how it is doing
    (the job queue, Redis, gone: a bare 500 before, and the page waited forever). A poll
    carries no input values (Dash's renderer nulls them), so only a start can name the request:
    `alert` shows an end without a key as it arrives."""
    key = (request or {}).get("key")
    return {"key": key, **more, "status": "error", "message": failures.user_message(exc)}


def matrix_job_lost(exc: Exception) -> dict | None:
    request = ctx.inputs.get(f"{ids.JOB_WANTED}.data")
    if request is None and not flask.request.args.get("cacheKey"):
        return None  # the call that ends a job asked nothing: no end to show (no update)
    return job_lost(exc, request)


@callback(
    Output(ids.JOB_RESULT, "data"),
    Input(ids.JOB_WANTED, "data"),
    background=True,
    on_error=matrix_job_lost,
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
    prevent_initial_call=True,  # the layout starts as no progress shows (one request less)
)
def show_progress(progress):
    """The bar counts the requested method's maps only; PCA stand-ins are mentioned apart."""
    if not progress:
        return "0", "1", STARTING
    if progress.get("phase") == "waiting":
        return "0", "1", progress.get("message", "")
    total = max(int(progress["total"]), 1)
    done, method = int(progress["done"]), progress.get("method") or ""
    text = f"{progress['phase']} — {done} of {total} {method} maps".replace("  ", " ")
    stand_ins = int(progress.get("stand_ins") or 0)
    if method != "PCA" and done < total and stand_ins:
        text += f" ({stand_ins} PCA stand-ins meanwhile)"
    if progress.get("eta_s") is not None and done < total:
        text += f", {time_left(float(progress['eta_s']))}"
    measured = int(progress.get("measured") or 0)
    if done >= total and 0 < measured < total:
        text += f"; fidelity of {measured} measured"
    return str(done), str(total), text


def in_line(place: int) -> str:
    ahead = "next in line" if place == 1 else f"number {place} in line"
    return (
        f"Waiting: your other maps are being computed (QKATLAS_MAX_JOBS_PER_USER at once); "
        f"this one is {ahead}."
    )


def time_left(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5)} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


CANCELLED = (
    "Cancelled. The maps finished so far are kept; cells marked “PCA” still show their PCA "
    "stand-in. Change a setting and back, or reload, to resume."
)


@callback(
    Output(ids.JOB_RESULT, "data", allow_duplicate=True),
    Input(ids.JOB_CANCEL, "n_clicks"),
    State(ids.REQUEST, "data"),
    prevent_initial_call=True,
)
def cancelled(n_clicks, request):
    """A cancelled job never returns: its end is recorded here, for the alert to say so."""
    if not n_clicks or not request:
        return no_update
    return {"key": request.get("key"), "status": "cancelled", "message": CANCELLED}


ALERT_CLASS = "alert alert-{} py-2 px-3 mb-2"


@callback(
    Output(ids.ALERT, "children"),
    Output(ids.ALERT, "hidden"),
    Output(ids.ALERT, "className"),
    Input(ids.REQUEST, "data"),
    Input(ids.JOB_RESULT, "data"),
    Input(ids.ANALYSIS, "data"),
)
def alert(request, result, analysis=None):
    """What is wrong with the request, or how its job ended (failed, cancelled, or done with a
    note: sentences cut to the context, in amber); else nothing. A job that was lost before it
    could name its request (`job_lost`: the matrix job, or the analysis job) is shown as its end
    arrives, and forgotten once anything else changes."""
    if request and request.get("error"):
        return request["error"], False, ALERT_CLASS.format("danger")
    if result and result.get("message") and result.get("key") == (request or {}).get("key"):
        kind = "warning" if result.get("status") == "done" else "danger"
        return result["message"], False, ALERT_CLASS.format(kind)
    if unnamed(result) or unnamed(analysis):  # only then is the trigger asked (tests call this)
        arrived = {ids.JOB_RESULT: result, ids.ANALYSIS: analysis}.get(ctx.triggered_id)
        if unnamed(arrived):
            return arrived["message"], False, ALERT_CLASS.format("danger")
    return "", True, no_update


def unnamed(ended: dict | None) -> bool:
    return bool(ended and ended.get("status") == "error" and ended.get("key") is None)
