"""bench/results-load.md from a load run's JSON (bench/load/run.py --json):

python -m bench.load.report RUN.json [--soak-png bench/results-soak.png] [--notes NOTES.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.load import accesslog, sampler

RESULTS = Path(__file__).resolve().parents[1] / "results-load.md"
GOALS_MS = {"control": 150, "figure": 750}  # p95 goals of issue 9
KIND_TEXT = {
    "control": "control callbacks (URL sync, request, options, legend, progress text, …)",
    "figure": "figure callbacks (matrix, head, links, sentence) of the visitors",
    "poll": "background-job polls (every 700 ms while a job runs)",
    "page": "page, /_dash-layout, /_dash-dependencies",
    "umap-user": "every request of the UMAP user (its maps are being computed)",
}


def kinds_table(part: dict) -> list[str]:
    rows = [
        "| requests of | n | p50 ms | p95 ms | p99 ms | max ms | goal (p95) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, text in KIND_TEXT.items():
        p = part["by_kind"].get(kind, {"n": 0})
        if not p.get("n"):
            rows.append(f"| {text} | 0 | – | – | – | – | |")
            continue
        goal = GOALS_MS.get(kind)
        verdict = ""
        if goal:
            verdict = f"≤ {goal} ms: {'met' if p['p95_ms'] <= goal else '**missed**'}"
        rows.append(
            f"| {text} | {p['n']:,} | {p['p50_ms']} | {p['p95_ms']} | {p['p99_ms']} "
            f"| {p['max_ms']} | {verdict} |"
        )
    return rows


def slowest(part: dict, n: int = 10) -> list[str]:
    rows = ["| callback (kind: first output +more ← first input) | n | p50 ms | p95 ms | max ms |"]
    rows.append("|---|---|---|---|---|")
    for name, p in part["slowest_names"][:n]:
        rows.append(f"| `{name}` | {p['n']} | {p['p50_ms']} | {p['p95_ms']} | {p['max_ms']} |")
    return rows


def counts(part: dict, title: str) -> list[str]:
    return [
        f"| {title} | {part['requests']:,} | {part['http_5xx']} | {part['failures']} "
        f"| {part['malformed']} | {', '.join(f'{k}: {v:,}' for k, v in part['statuses'].items())} |"
    ]


def client_lines(client: dict | None) -> list[str]:
    """The load generator's own health: a starved client makes answered requests time out."""
    if client is None:  # a run recorded before the client was watched
        return []
    stalls = (
        f"its loop stalled {client['stalls']} times for ≥ 5 s (longest "
        f"{client['longest_stall_s']} s, {client['stalled_s']} s in all)"
        if client["stalls"]
        else "its loop never stalled for 5 s or more"
    )
    unanswered = (
        f"of the {client['unanswered']} requests that got no answer, "
        f"{client['unanswered_during_a_stall']} were in flight during such a stall (the server "
        "may well have answered them: the client could not read the answer in time)"
        if client["unanswered"]
        else "every request got an answer"
    )
    return [
        f"**The load generator** (locust's users: greenlets of one process) used "
        f"{client['client_cpu_s']:,} s of CPU; {stalls}; {unanswered}.",
        "",
    ]


def failure_lines(part: dict) -> list[str]:
    """What went wrong, if anything: each kind of failure once (request: what locust saw), and
    the requests sent again on a fresh connection."""
    lines = []
    if part.get("retried"):
        lines += [
            f"{part['retried']} requests went out on a kept-alive connection the server had "
            "just closed (idle past gunicorn's 5 s keepalive) and were sent again at once, as a "
            "browser does; they are not in the counts above.",
            "",
        ]
    if part["failures"]:
        lines += [
            "Failures, each kind once:",
            "",
            *[f"- `{example}`" for example in part["failure_examples"]],
            "",
        ]
    return lines


def samples_table(result: dict) -> list[str]:
    rows = [
        "| minute | web RSS MiB | pool RSS MiB | web processes | pool processes | open files "
        "| cache MiB | load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in result["samples"]:
        rows.append(
            f"| {s['minute']} | {s['web_rss_mib']} | {s['pool_rss_mib']} | {s['web_processes']} "
            f"| {s['pool_processes']} | {s['open_files']} | {s['cache_mib']} | {s['load_1min']} |"
        )
    return rows


def reload_table(parts: list[dict], reloads: list[tuple[float, str]]) -> list[str]:
    """Server-side times (gunicorn's access log) per part of the run between reloads."""
    bounds = [0.0, *(minute for minute, _ in reloads)]
    names = ["start: the code as committed when the run began", *(what for _, what in reloads)]
    rows = [
        "| part (minutes) | code | requests | 5xx | small callbacks p50/p95/p99 ms "
        "| figure-size callbacks (≥ 100 KB) p50/p95/p99 ms | polls p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, part in enumerate(parts):
        start = bounds[index]
        end = f"{bounds[index + 1]:.1f}" if index + 1 < len(bounds) else "end"
        kinds = part["by_kind"]

        def ms(kind: str, kinds: dict = kinds) -> str:
            k = kinds.get(kind)
            return f"{k['p50_ms']:.0f} / {k['p95_ms']:.0f} / {k['p99_ms']:.0f}" if k else "–"

        fives = sum(v for code, v in part["statuses"].items() if code.startswith("5"))
        rows.append(
            f"| {start:.1f}–{end} | {names[index]} | {part['requests']:,} | {fives} "
            f"| {ms('callback, answer < 100 KB')} | {ms('callback, answer ≥ 100 KB (figures)')} "
            f"| {kinds.get('poll', {}).get('p95_ms', '–')} |"
        )
    return rows


def growth_after(result: dict, start_minute: float) -> dict[str, float | None]:
    """Each measure's growth after `start_minute` (sampler.growth: 10-minute means at each end)."""
    samples = [sampler.Sample(**s) for s in result["samples"]]
    names = ("web_rss_mib", "pool_rss_mib", "open_files", "web_processes", "pool_processes")
    return {name: sampler.growth(samples, name, start_minute) for name in names}


def render(
    result: dict,
    soak_png: str | None,
    notes: str,
    parts: list[dict] | None = None,
    reloads: list[tuple[float, str]] | None = None,
) -> str:
    m = result["machine"]
    window = result.get("window")
    whole = result["all"]
    minutes = result["duration_s"] / 60
    lines = [
        "# QK Atlas under load",
        "",
        f"Written by `python -m bench.load.report` from one run of `{result['command']}`",
        f"(load started {result['load_started']}).",
        "",
        "## Set-up",
        "",
        f"- gunicorn with {result['web_workers']} web workers (`gunicorn app:server`, the "
        f"project's gunicorn.conf.py: gthread, 4 threads each); a Dask pool started with Dask's "
        f"own commands (`dask scheduler`, `dask worker --nworkers {result['pool_workers']} "
        "--nthreads 1 --preload dashboard.worker_preload`); sign-in `QKATLAS_AUTH=proxy`, every "
        "request carrying the proxy's shared secret, the user and the group.",
        f"- {result['users']} signed-in visitors (locust, `bench/load/locustfile.py`, 1–3 s "
        "between steps), each visit: page load (page, layout, dependencies, every initial "
        "callback; a matrix job, when its maps are not all cached, polled to its end), colour change, a search and its clearing, a "
        "head opened by a matrix click, three link hovers, a pinned point, the sentence view "
        "(two hovers, a scope change), back to the head and the matrix; one visit in four pastes "
        "a corpus (its own matrix job: extraction and PCA of a new corpus) and goes back to the "
        "default corpus.",
        (
            "- **Meanwhile** one more user (`UmapMapper`) pastes a 40-sentence corpus of its own "
            "and asks for its UMAP matrix, again and again, so that a UMAP matrix of another "
            "corpus is being computed on the same pool (see Notes for the part of the run where "
            "it actually was)."
            if result["umap_user"]
            else "- No UMAP user in this run."
        ),
        f"- The default matrix was computed once before the users started (warm-up "
        f"{result['warm_up_s']} s): the visitors' maps are cached, as on a team's server in the "
        "day. Start-up and warm-up held the machine's heavy-run lock; the load itself did not.",
        "",
        "**One machine for everything.** Two cores served this run's web workers, pool workers "
        "and the locust users (one process), and whatever else ran at the time (the Notes say "
        "what did). Load average (1, 5, 15 min) when the users started: "
        f"{', '.join(map(str, result['load_before']))}; after the run: "
        f"{', '.join(map(str, result['load_after']))}. The latencies below are therefore upper "
        "bounds for this hardware (the load generator's own CPU is on the clock); the counts of "
        "errors are what matters most.",
        "",
        *client_lines(result.get("client")),
    ]
    if window:
        lines += [
            f"## Load: {result['users']} users for {result['window_s'] / 60:.0f} minutes",
            "",
            "| part of the run | requests | 5xx | failures | malformed | HTTP statuses |",
            "|---|---|---|---|---|---|",
            *counts(window, f"first {result['window_s'] / 60:.0f} min"),
            *counts(whole, f"whole run ({minutes:.0f} min)"),
            "",
            *failure_lines(whole),
            f"Latency, first {result['window_s'] / 60:.0f} minutes (locust's response time: "
            "request sent to answer read, on the same machine):",
            "",
            *kinds_table(window),
            "",
            "Slowest callbacks by p95 (first window):",
            "",
            *slowest(window),
            "",
        ]
    if parts and reloads:
        lines += [
            "## Fixes during the run, and what they changed",
            "",
            "The run found faults (see Notes); each was fixed, tested and committed while "
            "the run went on, and gunicorn was reloaded (`kill -HUP` to its master: new web "
            "workers with the committed code, the old ones finish their requests) — the pool, "
            "the cache and the users carried on. Server-side times from gunicorn's access log "
            "(time in the web worker, without the client's side), per part of the run:",
            "",
            *reload_table(parts, reloads),
            "",
            '("Small callbacks" are the control callbacks and small figure updates such as '
            'link hovers; "figure-size" answers carry a whole figure, mostly the matrix.)',
            "",
        ]
    lines += [
        f"## Soak: the same scenario for {minutes:.0f} minutes",
        "",
        f"Asked for by the issue: 60 minutes. This run lasted {minutes:.0f} minutes"
        + ("." if minutes >= 59.5 else " (the time box of the session that ran it)."),
        "",
        "| part of the run | requests | 5xx | failures | malformed | HTTP statuses |",
        "|---|---|---|---|---|---|",
        *counts(whole, f"whole run ({minutes:.0f} min)"),
        "",
        *([] if window else failure_lines(whole)),
        *kinds_table(whole),
        "",
        "Sampled every minute (`bench/load/sampler.py`): RSS summed over gunicorn's master and "
        "workers (and any job process alive at that moment) and over the Dask scheduler and "
        "worker processes; open files = file descriptors (files and sockets) of all of them; "
        "cache = the run's cache folder.",
        "",
    ]
    if soak_png:
        lines += [f"![soak]({soak_png})", ""]
    since = (reloads[-1][0] if reloads else 0.0) + 5
    growth = growth_after(result, since)
    if growth:
        lines += [
            f"Growth from the mean of the first 10 minutes from minute {since:.0f} (5 min after "
            "the last reload, if any: a reload starts fresh web workers) to the mean of the last "
            "10 minutes (goal: ≤ 10 %):",
            "",
            "| measure | growth |",
            "|---|---|",
            *[f"| {k} | {v if v is None else f'{v:+.1f} %'} |" for k, v in growth.items()],
            "",
        ]
    lines += samples_table(result)
    lines += [
        "",
        "## Processes at the end",
        "",
        f"- zombies under gunicorn and the pool before stopping them: "
        f"{result.get('zombies') or 'none'}",
        f"- processes of the run still alive after stopping (orphans): "
        f"{result.get('leftover_processes') or 'none'}",
        "",
    ]
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    lines += ["## Machine", "", "|  |  |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in m.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--soak-png", help="the plot's path relative to bench/")
    parser.add_argument("--notes", type=Path, help="a markdown file of notes to include")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--access-log", type=Path, help="the run's gunicorn.log")
    parser.add_argument(
        "--reload",
        nargs=2,
        action="append",
        default=[],
        metavar=("MINUTE", "WHAT"),
        help="a gunicorn reload during the run: its minute and the code it brought",
    )
    args = parser.parse_args(argv)
    result = json.loads(args.run.read_text())
    notes = args.notes.read_text() if args.notes else ""
    parts = accesslog.parts(args.access_log) if args.access_log else None
    reloads = [(float(minute), what) for minute, what in args.reload]
    if args.soak_png:  # the plot again, with the reloads marked
        samples = [sampler.Sample(**s) for s in result["samples"]]
        title = (
            f"QK Atlas soak: {result['users']} users + UMAP user, gunicorn "
            f"{result['web_workers']} workers, {result['pool_workers']} Dask workers "
            "(dashed: reloads)"
        )
        sampler.plot(samples, args.out.parent / args.soak_png, title, tuple(m for m, _ in reloads))
        sampler.write_table(samples, (args.out.parent / args.soak_png).with_suffix(".csv"))
    args.out.write_text(render(result, args.soak_png, notes, parts, reloads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
