"""What the pool's scheduler remembers of past jobs, bounded.

With `python app.py` the LocalCluster's scheduler, and its nannies, live in the web process for
as long as it runs (dask_pool.start_local_cluster). Dask keeps some of their history for good,
and bounds the rest loosely for a process that only schedules. Measured in the web tier
(bench/cancel_memory.py, 100 matrices of new corpora: RSS +31 MiB from the 10th to the 100th):

- an event topic for every client that ever connected (the scheduler's Broker): each job has a
  client of its own (a forked job process, a Celery task) and leaves its topic behind, with one
  "update-graph" event per task it submitted, ~110 per matrix: ~75 KB per job, never freed;
- spans (distributed.spans), one per busy period of the pool, each with its task groups and a
  record of every future submitted in it: ~40 KB per job, never freed (dask/distributed#7977);
- computations (`distributed.diagnostics.computations.max-history`: 100), which hold the same
  task groups;
- the system monitor of the scheduler and of every nanny, a dozen series sampled every 500 ms
  (`distributed.admin.system-monitor.log-length`: 7200 samples, an hour);
- the scheduler's log records, INFO included, four per job (`distributed.admin.log-length`:
  10,000 records, ~1 KB each);
- `distributed.admin.low-level-log-length` (1000) entries of: each event topic left (update-graph
  events of ~1 KB), the transition log, and the batches last sent on each comm — a worker's
  include its tasks, each with its arguments.

The Bokeh dashboard, which shows them, is off (dask_pool._local_cluster), and nothing here reads
them: the first two are pruned by a scheduler plugin when a client leaves, the others kept short.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

log = logging.getLogger(__name__)

KEPT_SPANS = 8  # the most recent spans (busy periods of the pool) and computations kept
# a span's last task finished this long ago: the workers have reported its metrics on their
# heartbeats (every second or so); any later are dropped (tolerate_pruned_spans)
SPAN_GRACE_S = 60.0
MONITOR_SAMPLES = 120  # a minute of each system monitor series, at its 500 ms
LOG_RECORDS = 500  # the scheduler's (and each worker's) last log records
LOW_LEVEL_ENTRIES = 100  # events per topic, transitions, batches sent per comm

CONFIG: dict[str, Any] = {
    "distributed.diagnostics.computations.max-history": KEPT_SPANS,
    "distributed.admin.system-monitor.log-length": MONITOR_SAMPLES,
    "distributed.admin.log-length": LOG_RECORDS,
    "distributed.admin.low-level-log-length": LOW_LEVEL_ENTRIES,
}


class BoundedHistory(SchedulerPlugin):
    """Drops a client's event topic as it leaves, and then the spans beyond the most recent
    KEPT_SPANS whose tasks the scheduler has all forgotten."""

    name = "qk-atlas-bounded-history"

    def __init__(self) -> None:
        self._scheduler: Any = None
        self._spans_prunable = False

    async def start(self, scheduler: Any) -> None:
        self._scheduler = scheduler
        if scheduler.extensions.get("spans") is not None:
            self._spans_prunable = self._pruned(tolerate_pruned_spans, scheduler)

    def log_event(self, topic: str, msg: Any) -> None:
        # "remove-client" is the last event of a client's own topic, logged at each removal of
        # the client: twice (its close, then its stream's end), the second after remove_client
        if (
            isinstance(msg, dict)
            and msg.get("action") == "remove-client"
            and msg.get("client") == topic
            and self._scheduler is not None
        ):
            self._pruned(drop_topic, self._scheduler, topic)

    def remove_client(self, scheduler: Any, client: str) -> None:
        if self._spans_prunable:
            self._pruned(prune_spans, scheduler, KEPT_SPANS, SPAN_GRACE_S)

    @staticmethod
    def _pruned(prune: Any, *args: Any) -> bool:
        try:
            prune(*args)
        except Exception:  # Dask's internals moved: memory grows again, jobs still run
            log.warning("could not prune the scheduler's history", exc_info=True)
            return False
        return True


def tolerate_pruned_spans(scheduler: Any) -> None:
    """Makes the spans extension drop what a worker's heartbeat reports for a span that is gone,
    rather than fail on it: the scheduler answered such a heartbeat with a KeyError, and the
    worker closed ("Unexpected exception during heartbeat")."""
    ext = scheduler.extensions["spans"]
    heartbeat = ext.heartbeat

    def known_spans_only(ws: Any, data: dict[tuple, float]) -> None:
        # keys: (context, span id, prefix, activity, unit)
        heartbeat(ws, {key: value for key, value in data.items() if key[1] in ext.spans})

    ext.heartbeat = known_spans_only


def drop_topic(scheduler: Any, topic: str) -> None:
    """A departed client's event topic, unless someone listens to it."""
    topics = scheduler._broker._topics
    if topic in topics and not topics[topic].subscribers:
        del topics[topic]


def prune_spans(scheduler: Any, kept: int, grace_s: float) -> int:
    """Drops the root spans (with their sub-spans) older than the `kept` most recent ones whose
    task groups the scheduler no longer knows, finished over `grace_s` ago; returns how many.
    A group it still knows may get new tasks, which go to its span: that span stays."""
    ext = scheduler.extensions.get("spans")
    if ext is None:
        return 0
    live = {id(group) for group in scheduler.task_groups.values()}
    now = time.time()
    gone = [
        root
        for root in ext.root_spans[: max(len(ext.root_spans) - kept, 0)]
        if not any(id(group) in live for group in root.traverse_groups())
        and now - root.stop > grace_s
    ]
    if not gone:
        return 0
    ids = {span.id for root in gone for span in root.traverse_spans()}
    ext.root_spans[:] = [span for span in ext.root_spans if span.id not in ids]
    for span_id in ids:
        del ext.spans[span_id]
    for index in (ext.spans_search_by_name, ext.spans_search_by_tag):
        for name in list(index):
            index[name] = [span for span in index[name] if span.id not in ids]
            if not index[name]:
                del index[name]
    return len(gone)
