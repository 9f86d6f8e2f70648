"""Head metrics follow a job: the matrix job ends once its maps are drawn and leaves their
metrics and fidelity to the workers (dask_pool.measure_later). While some are missing, an
interval counts how many the cache holds; the badge and the matrix re-read on each new count.
"""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update

from dashboard import ids
from dashboard.views.context import resolve

POLL_MS = 2000
GIVE_UP_POLLS = 60  # two minutes without a new head measured: stop looking (a worker failed)


# The job's progress, not its result, says it is done: Dash holds back every callback that
# depends (even through this one) on the output of a running background job, and the matrix
# depends on this store — it would stay empty for a whole t-SNE job.
@callback(
    Output(ids.METRICS, "data"),
    Output(ids.METRICS_POLL, "disabled"),
    Input(ids.JOB_PROGRESS, "data"),
    Input(ids.METRICS_POLL, "n_intervals"),
    State(ids.REQUEST, "data"),
    State(ids.METRICS, "data"),
    prevent_initial_call=True,  # no job yet: nothing to count (the poll starts disabled)
)
def count_measured(progress, polls, request, seen):
    """{key, measured, at}: `at` is the poll that saw the count change, so the store changes
    (and the views re-read) only when there is something new to read."""
    context = resolve(request)
    ours = progress and progress.get("key") == (request or {}).get("key")
    if context is None or not ours or progress.get("phase") != "done":
        return no_update, True
    polls = polls or 0
    measured = context.measured()
    same = seen and seen["key"] == context.key and seen["measured"] == measured
    seen = seen if same else {"key": context.key, "measured": measured, "at": polls}
    complete = measured >= len(context.subject.heads())
    return (no_update if same else seen), complete or polls - seen["at"] > GIVE_UP_POLLS
