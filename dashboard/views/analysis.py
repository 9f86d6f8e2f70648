"""The analysis job: the head similarity of the whole model and the open head's norm-scale
curve, on the warm workers, when the single-head or the similarity view needs them; and compare
pane B's head, whose model may never have been asked for on this corpus.

A small store (ANALYSIS_WANTED) says what is needed and changes only when that changes (not on
every pinned point), so the background job starts only then. Results go to the disk store; the
views read them from there when ANALYSIS says the job ended.
"""

from __future__ import annotations

import logging

from dash import Input, Output, State, callback, ctx, no_update

from dashboard import dask_pool, failures, ids, worker_tasks
from dashboard.background import stop_when_abandoned
from dashboard.catalog import current
from dashboard.store import Store
from dashboard.views.compare import pane_request
from dashboard.views.progress import asked, job_lost

log = logging.getLogger(__name__)


def wanted_of(request: dict | None, view: dict | None) -> dict | None:
    """What the open view needs computed: None for views that need nothing."""
    kind = (view or {}).get("view")
    if kind == "compare":
        b_request = pane_request(request, view)
        if b_request is None or b_request.get("error"):
            return None
        if view.get("panes") == "matrices":  # pane B's model's whole matrix
            return {"request": b_request, "curve": None, "matrix": True}
        pane = [int(view.get("b_layer") or 0), int(view.get("b_head") or 0)]
        return {"request": b_request, "curve": None, "pane": pane}
    if not request or request.get("error") or kind not in ("head", "similarity"):
        return None
    curve = [int(view["layer"]), int(view["head"])] if kind == "head" else None
    return {"request": request, "curve": curve}


@callback(
    Output(ids.ANALYSIS_WANTED, "data"),
    Output(ids.ANALYSIS, "data", allow_duplicate=True),
    Input(ids.OTHER_REQUEST, "data"),
    Input(ids.OTHER_VIEW, "data"),
    State(ids.ANALYSIS_WANTED, "data"),
    prevent_initial_call=True,
)
def want(request, view, wanted):
    """A job for what the view needs and the cache lacks; what is all cached ends here, as the
    job would have ended (no job process: most heads opened under load were cached)."""
    new = wanted_of(request, view)
    if new is None or new == wanted:
        return no_update, no_update
    ended = cached_analysis(new)
    return (no_update, ended) if ended else (new, no_update)


def ended_of(wanted: dict) -> dict:
    request = wanted["request"]
    return {
        "key": request.get("key"),
        "curve": wanted.get("curve"),
        "pane": wanted.get("pane"),
        "matrix": wanted.get("matrix"),
    }


def cached_analysis(wanted: dict) -> dict | None:
    """The end of the analysis job when everything it would compute is cached, else None (or
    when that cannot be told here: the job says what is wrong)."""
    request, curve, pane = wanted["request"], wanted.get("curve"), wanted.get("pane")
    try:
        _, subject, _, params = asked(request)
        if wanted.get("matrix"):
            cached = dask_pool.cached_progress(subject, params) is not None
        else:  # what run_analysis computes
            needed = [subject.tokens_key]
            if pane is not None and not subject.model.missing_head(*pane):
                needed.append(subject.coords_key(*pane, params))
            if pane is None:
                needed.append(subject.similarity_key(params.seed))
                if curve is not None and not subject.model.missing_head(*curve):
                    needed.append(subject.curve_key(*curve, params.translate))
            store = Store(subject.cache_dir)
            cached = all(store.has(key) for key in needed)
    except Exception:  # the job tells the user what is wrong, as a sentence
        log.debug("an analysis left to its job", exc_info=True)
        return None
    return {**ended_of(wanted), "status": "done", "message": ""} if cached else None


def run_analysis(wanted: dict) -> dict:
    """Extraction (shared with the matrix job by task key), then compare pane B's map alone, or
    the similarity of every head and, for an open head, its scale curve. Never raises to the
    UI."""
    request, curve, pane = wanted["request"], wanted.get("curve"), wanted.get("pane")
    ended = ended_of(wanted)
    try:
        stop_when_abandoned(current().settings)
        _, subject, corpus, params = asked(request)
        with dask_pool.client() as pool:
            if wanted.get("matrix"):  # the matrix job's own tasks (shared by key with it)
                dask_pool.run_matrix(pool, subject, corpus, params, lambda p: None)
                return {**ended, "status": "done", "message": ""}
            pool.submit(
                worker_tasks.extract_task,
                subject,
                corpus,
                key=dask_pool.task_key(subject, f"extract-{subject.tokens_key}"),
                priority=100,
            ).result()
            if pane is not None:
                if not subject.model.missing_head(*pane):  # else the pane says what is wrong
                    key = subject.coords_key(*pane, params)  # the matrix job's task, if it runs
                    pool.submit(
                        worker_tasks.project_task,
                        subject,
                        *pane,
                        params,
                        key=dask_pool.task_key(subject, key),
                        priority=80,
                    ).result()
                return {**ended, "status": "done", "message": ""}
            futures = []
            if curve is not None and not subject.model.missing_head(*curve):
                key = subject.curve_key(*curve, params.translate)
                futures.append(
                    pool.submit(
                        worker_tasks.scale_curve_task,
                        subject,
                        *curve,
                        params.translate,
                        key=dask_pool.task_key(subject, key),
                        priority=70,
                    )
                )
            key = subject.similarity_key(params.seed)
            futures.append(
                pool.submit(
                    worker_tasks.similarity_task,
                    subject,
                    params.seed,
                    key=dask_pool.task_key(subject, key),
                    priority=60,
                )
            )
            for future in futures:
                future.result()
    except Exception as exc:  # shown as a sentence, never as a traceback
        return {**ended, "status": "error", "message": failures.user_message(exc)}
    return {**ended, "status": "done", "message": ""}


def analysis_lost(exc: Exception) -> dict:
    wanted = ctx.inputs.get(f"{ids.ANALYSIS_WANTED}.data") or {}
    return job_lost(exc, wanted.get("request"), curve=wanted.get("curve"))


@callback(
    Output(ids.ANALYSIS, "data"),
    Input(ids.ANALYSIS_WANTED, "data"),
    background=True,
    on_error=analysis_lost,
    prevent_initial_call=True,
)
def analyse(wanted):
    return run_analysis(wanted) if wanted else no_update
