"""The load run: the deployed form (gunicorn + a Dask pool, proxy sign-in) under locust users.

    python -m bench.load.run --users 20 --duration 600 --json load.json --markdown load.md
    python -m bench.load.run --users 20 --duration 2400 --soak bench/soak   # + sampler, plot

Starts the servers in a fresh folder (cache included), warms the default matrix once (the maps
the visitors open are cached, as on a team's server during the day), starts `--users` Visitor
users plus one UmapMapper (unless --no-umap) and runs for `--duration` seconds; then stops
everything and checks that no process of the run is left. Writes the numbers as JSON (and a
markdown section); never asserts timing (tests/load asserts correctness only).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before anything opens a socket: locust's users are greenlets

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from datetime import time as clock_time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import numpy as np  # noqa: E402
import requests  # noqa: E402
from locust.env import Environment  # noqa: E402

from bench import machine  # noqa: E402
from bench.load import sampler  # noqa: E402
from bench.load.dash_client import DashClient  # noqa: E402
from bench.load.deployment import GROUP, SECRET, Deployment, deploy  # noqa: E402
from bench.load.locustfile import UmapMapper, Visitor  # noqa: E402

KINDS = ("control", "figure", "poll", "page", "umap-user", "check")


def kind_of(request_type: str, name: str) -> str:
    if request_type == "CHECK":
        return "check"
    if request_type == "RETRY":  # sent again at once, as a browser does (locustfile.http)
        return "retry"
    if name.startswith("umap-user"):
        return "umap-user"
    return name.split(":", 1)[0]


def warm(deployment: Deployment) -> float:
    """One visit of the default page to its job's end: the default matrix computed and cached."""
    session = requests.Session()

    def http(method: str, path: str, name: str, **kwargs) -> tuple[int, str]:
        response = session.request(method, deployment.url + path, timeout=300, **kwargs)
        return response.status_code, response.text

    start = time.monotonic()
    client = DashClient(http, deployment.headers("warm-up@example.com"))
    client.load_page("", timeout=900)
    if not client.finished_jobs:
        raise RuntimeError("warm-up: the default matrix job did not finish")
    return time.monotonic() - start


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "n": len(values),
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "p99_ms": round(float(p99), 1),
        "max_ms": round(max(values), 1),
    }


@dataclass
class Event:
    """One request as locust saw it, `at` seconds after the users started."""

    at: float
    kind: str
    name: str
    ms: float
    status: int
    failure: str | None


def summary(events: list[Event]) -> dict:
    """Requests, statuses, failures and percentiles per kind of callback, of some events."""
    statuses: dict[int, int] = defaultdict(int)
    times: dict[str, list[float]] = defaultdict(list)
    by_name: dict[str, list[float]] = defaultdict(list)
    retries = [e for e in events if e.kind == "retry"]
    events = [e for e in events if e.kind != "retry"]
    failures = [f"{e.name}: {e.failure}" for e in events if e.failure]
    for e in events:
        statuses[e.status] += 1
        if e.kind != "check":
            times[e.kind].append(e.ms)
            by_name[e.name].append(e.ms)
    return {
        "requests": sum(v for k, v in statuses.items() if k),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "http_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "failures": len(failures),
        "failure_examples": sorted(set(failures))[:20],
        # when each went wrong (s after the users started), to find in the servers' logs
        "failure_times": [
            [round(e.at, 1), e.name, e.failure] for e in events if e.failure and e.status == 0
        ][:100],
        "malformed": sum(1 for e in events if e.failure and "malformed" in e.name + e.failure),
        # requests the server closed their kept-alive connection under, sent again at once
        "retried": len(retries),
        "by_kind": {kind: percentiles(times[kind]) for kind in KINDS if kind != "check"},
        "count_by_name": {name: len(v) for name, v in sorted(by_name.items())},
        "slowest_names": sorted(
            ((n, percentiles(v)) for n, v in by_name.items()),
            key=lambda item: -item[1].get("p95_ms", 0),
        )[:15],
    }


STALL_S = 5.0  # the load generator's own loop this late: every request in flight looks slow


def watch_the_client(stalls: list[list[float]], clock: float, every: float = 0.5) -> None:
    """Records each time the load generator itself stalls ([s after the users started, how
    late]): locust's users are greenlets of one process, and when that process is starved of
    CPU (a busy or shared machine) the answers wait unread — a request then times out
    ("no answer") although the server answered it long before."""
    while True:
        before = time.monotonic()
        gevent.sleep(every)
        late = time.monotonic() - before - every
        if late >= STALL_S:
            stalls.append([round(before - clock, 1), round(late, 1)])


def stalls_summary(stalls: list[list[float]], events: list[Event], cpu_s: float) -> dict:
    """How the load generator fared, and which unanswered requests were in flight while it
    stalled (so a client-side cause is told apart from the server's)."""

    def during_a_stall(e: Event) -> bool:
        sent = e.at - e.ms / 1000
        return any(start < e.at and start + late > sent for start, late in stalls)

    unanswered = [e for e in events if e.status == 0 and e.kind not in ("check", "retry")]
    return {
        "client_cpu_s": round(cpu_s, 1),
        "stalls": len(stalls),
        "longest_stall_s": max((late for _, late in stalls), default=0.0),
        "stalled_s": round(sum(late for _, late in stalls), 1),
        "unanswered": len(unanswered),
        "unanswered_during_a_stall": sum(map(during_a_stall, unanswered)),
        "first_stalls": stalls[:50],
    }


def run(args: argparse.Namespace) -> dict:
    folder = Path(args.folder or tempfile.mkdtemp(prefix="qkatlas-load-"))
    os.environ.update(
        {"QKATLAS_LOAD_SECRET": SECRET, "QKATLAS_LOAD_GROUP": GROUP, "QKATLAS_LOAD_SEED": "0"}
    )
    for name, value in args.env:
        os.environ[name] = value  # read by the servers (e.g. QKATLAS_CORPUS_SENTENCES)
    started = time.monotonic()
    lock = _hold(args.lock)  # start-up and warm-up are the heavy part others wait for
    deployment = deploy(folder, args.web_workers, args.pool_workers)
    if args.dump_stuck:  # py-spy dumps of the web workers when a request hangs (locustfile)
        os.environ["QKATLAS_LOAD_DUMPS"] = str(folder)
        os.environ["QKATLAS_LOAD_WEB_PID"] = str(deployment.web_pid)
    events: list[Event] = []
    samples: list[sampler.Sample] = []
    result: dict = {
        "command": "python -m bench.load.run " + shlex.join(sys.argv[1:]),
        "machine": machine.describe(),
        "users": args.users,
        "umap_user": not args.no_umap,
        "web_workers": args.web_workers,
        "pool_workers": args.pool_workers,
    }
    try:
        result["warm_up_s"] = round(warm(deployment), 1)
        if lock is not None:
            lock.close()  # the load itself runs beside other work: its figures say so
        result["load_before"] = [round(x, 2) for x in os.getloadavg()]
        result["load_started"] = datetime.now(UTC).isoformat(timespec="seconds")
        clock = time.monotonic()

        def record(request_type, name, response_time, exception, response=None, **_):
            status = getattr(response, "status_code", 0) if response is not None else 0
            failure = None if exception is None else str(exception)[:300]
            kind = kind_of(request_type, name)
            events.append(
                Event(time.monotonic() - clock, kind, name, response_time, status, failure)
            )

        users = [Visitor] if args.no_umap else [Visitor, UmapMapper]
        env = Environment(user_classes=users, host=deployment.url)
        env.events.request.add_listener(record)
        runner = env.create_local_runner()
        duration = args.duration
        if args.until:
            end = datetime.combine(datetime.now(UTC).date(), args.until, UTC)
            duration = min(duration, max(0.0, (end - datetime.now(UTC)).total_seconds()))
        result["duration_s"] = round(duration)

        def sample_forever() -> None:
            while True:
                samples.append(
                    sampler.sample(
                        deployment.web_pid, deployment.pool_pids, deployment.cache_dir, clock
                    )
                )
                if args.json:  # so far, in case the run is cut short
                    partial = {**result, "partial": True, "samples": [vars(x) for x in samples]}
                    partial["all"] = summary(list(events))
                    args.json.write_text(json.dumps(partial, indent=1))
                gevent.sleep(args.sample_every)

        sampling = gevent.spawn(sample_forever)
        stalls: list[list[float]] = []
        watching = gevent.spawn(watch_the_client, stalls, clock)
        cpu_before = time.process_time()
        runner.start(args.users + (0 if args.no_umap else 1), spawn_rate=args.spawn_rate)
        gevent.sleep(duration)
        runner.quit()
        sampling.kill()
        watching.kill()
        result["client"] = stalls_summary(stalls, events, time.process_time() - cpu_before)
        samples.append(
            sampler.sample(deployment.web_pid, deployment.pool_pids, deployment.cache_dir, clock)
        )
        # A job that just ended is a zombie until its web worker reaps it (within 5 s:
        # dashboard/background.py), and jobs still end after the users stop: a zombie is one
        # still there on a second look, longer than that period after the first.
        roots = [deployment.web_pid, *deployment.pool_pids]
        gevent.sleep(2)
        first = set(sampler.zombies(roots))
        gevent.sleep(7)
        result["zombies"] = sorted(first & set(sampler.zombies(roots)))
    finally:
        deployment.stop()
    gevent.sleep(2)
    result["leftover_processes"] = sampler.leftovers(str(folder))
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_s"] = round(time.monotonic() - started, 1)
    result["all"] = summary(events)
    if args.window:
        result["window_s"] = args.window
        result["window"] = summary([e for e in events if e.at <= args.window])
    result["samples"] = [vars(x) for x in samples]
    return result


def soak_outputs(result: dict, prefix: Path, warmup_minutes: float) -> dict:
    """The soak's table (CSV) and plot (PNG) next to `prefix`, and each measure's growth."""
    samples = [sampler.Sample(**s) for s in result["samples"]]
    sampler.write_table(samples, prefix.with_suffix(".csv"))
    plotted = sampler.plot(
        samples,
        prefix.with_suffix(".png"),
        f"QK Atlas soak: {result['users']} users, gunicorn {result['web_workers']} workers, "
        f"{result['pool_workers']} Dask workers",
    )
    return {
        "table": str(prefix.with_suffix(".csv")),
        "plot": str(prefix.with_suffix(".png")) if plotted else None,
        "growth_after_warmup_pct": {
            name: sampler.growth(samples, name, warmup_minutes)
            for name in ("web_rss_mib", "pool_rss_mib", "open_files", "web_processes")
        },
    }


def _hold(path: Path | None):
    """An exclusive flock on `path` (released when the returned file is closed), or None."""
    if path is None:
        return None
    import fcntl

    handle = path.open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20, help="Visitor users (the UMAP user apart)")
    parser.add_argument("--duration", type=float, default=600, help="seconds of load")
    parser.add_argument("--spawn-rate", type=float, default=2.0)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--pool-workers", type=int, default=2)
    parser.add_argument("--no-umap", action="store_true", help="no UMAP matrix computing meanwhile")
    parser.add_argument("--sample-every", type=float, default=60, help="seconds between samples")
    parser.add_argument(
        "--folder", help="where the servers' logs and cache go (default: a temp dir)"
    )
    parser.add_argument(
        "--until", type=clock_time.fromisoformat, help="end by this UTC time (HH:MM) at the latest"
    )
    parser.add_argument(
        "--window", type=float, help="also summarise the first WINDOW seconds on their own"
    )
    parser.add_argument(
        "--dump-stuck",
        action="store_true",
        help="py-spy (if installed beside python) dumps the web workers into the folder when a request hangs 30 s",
    )
    parser.add_argument("--lock", type=Path, help="hold this flock during start-up and warm-up")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    parser.add_argument("--soak", type=Path, help="write the soak table/plot to PREFIX.csv/.png")
    parser.add_argument("--soak-warmup", type=float, default=5, help="minutes before growth counts")
    parser.add_argument(
        "--env",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a setting for the servers, e.g. --env QKATLAS_CORPUS_SENTENCES 20",
    )
    args = parser.parse_args(argv)
    result = run(args)
    if args.soak:
        result["soak"] = soak_outputs(result, args.soak, args.soak_warmup)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    part = result.get("window") or result["all"]
    print(
        json.dumps({k: part[k] for k in ("requests", "http_5xx", "failures", "by_kind")}, indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
