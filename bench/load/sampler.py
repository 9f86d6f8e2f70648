"""Soak sampling: the resident memory of the web and pool processes, their open files, how many
processes there are and how big the cache is, every `every` seconds; a table and a PNG plot.

Process trees are found from their roots (gunicorn's master, the dask scheduler and the dask
worker command), so job processes the web workers start and end are counted while alive.
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

MIB = 1024**2
FIELDS = (
    "minute",
    "web_rss_mib",
    "pool_rss_mib",
    "web_processes",
    "pool_processes",
    "open_files",
    "cache_mib",
    "load_1min",
    "jobs",
    "oldest_job_s",
)


@dataclass
class Sample:
    minute: float
    web_rss_mib: float
    pool_rss_mib: float
    web_processes: int
    pool_processes: int
    open_files: int
    cache_mib: float
    load_1min: float
    # the web workers' job processes (and theirs): how many, and the oldest's age — many young
    # ones are a busy minute, old ones a job nobody stops
    jobs: int = 0
    oldest_job_s: float = 0.0


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def jobs_and_oldest(web_pid: int) -> tuple[int, float]:
    """(live processes below gunicorn's workers, the oldest one's age in s)."""
    try:
        workers = psutil.Process(web_pid).children()
    except psutil.NoSuchProcess:
        return 0, 0.0
    now, ages = time.time(), []
    for worker in workers:
        try:
            for proc in worker.children(recursive=True):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    ages.append(now - proc.create_time())
        except psutil.Error:
            continue
    return len(ages), round(max(ages, default=0.0), 1)


def rss_and_files(processes: list[psutil.Process]) -> tuple[float, int, int]:
    """(RSS MiB, open files + sockets, live processes) of a process list."""
    rss, files, alive = 0, 0, 0
    for proc in processes:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            rss += proc.memory_info().rss
            files += proc.num_fds()
            alive += 1
        except psutil.Error:  # ended between the listing and the reading
            continue
    return rss / MIB, files, alive


def folder_mib(folder: Path) -> float:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total / MIB


def sample(web_pid: int, pool_pids: list[int], cache_dir: Path, start: float) -> Sample:
    web_rss, web_files, web_n = rss_and_files(tree(web_pid))
    pool = [p for pid in pool_pids for p in tree(pid)]
    pool_rss, pool_files, pool_n = rss_and_files(pool)
    return Sample(
        round((time.monotonic() - start) / 60, 2),
        round(web_rss, 1),
        round(pool_rss, 1),
        web_n,
        pool_n,
        web_files + pool_files,
        round(folder_mib(cache_dir), 1),
        round(psutil.getloadavg()[0], 2),
        *jobs_and_oldest(web_pid),
    )


def zombies(roots: list[int]) -> list[str]:
    """Zombie processes (ended, never reaped by their parent) under the roots."""
    found = []
    for pid in roots:
        for proc in tree(pid):
            try:
                if proc.status() == psutil.STATUS_ZOMBIE:
                    found.append(f"{proc.pid} {proc.name()}")
            except psutil.Error:
                continue
    return found


def leftovers(marker: str) -> list[str]:
    """Processes still alive whose environment or command line holds `marker` (the run's folder),
    this process and its ancestors aside: after the deployment stopped there should be none
    (an orphan re-parented to init, or a zombie, would be listed)."""
    me = psutil.Process()
    mine = {me.pid, *(p.pid for p in me.parents())}
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.pid in mine:
            continue
        try:
            line = " ".join(proc.info["cmdline"] or [])
            env = proc.environ() if marker not in line else {}
        except psutil.Error:
            continue
        if marker in line or any(marker in v for v in env.values()):
            found.append(f"{proc.pid} {line[:120]}")
    return found


def write_table(samples: list[Sample], path: Path) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        for s in samples:
            writer.writerow(asdict(s))


GROWTH_WINDOW = 10.0  # minutes averaged at each end: job processes come and go minute by minute


def growth(samples: list[Sample], name: str, warmup_minutes: float) -> float | None:
    """Growth of a measure in %, from its mean over the first GROWTH_WINDOW minutes after
    warm-up to its mean over the run's last GROWTH_WINDOW minutes (single samples swing with
    the jobs alive at that moment); None with too few samples."""
    after = [s for s in samples if s.minute >= warmup_minutes]
    if len(after) < 2:
        return None
    first = [getattr(s, name) for s in after if s.minute < after[0].minute + GROWTH_WINDOW]
    last = [getattr(s, name) for s in after if s.minute > after[-1].minute - GROWTH_WINDOW]
    if not sum(first):
        return None
    return round(100 * (sum(last) / len(last) / (sum(first) / len(first)) - 1), 1)


def plot(samples: list[Sample], path: Path, title: str, marks: tuple[float, ...] = ()) -> bool:
    """A PNG of the measures over time (dashed lines at `marks`, minutes: e.g. reloads);
    False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    minutes = [s.minute for s in samples]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    panels = [
        (axes[0][0], ("web_rss_mib", "pool_rss_mib"), "RSS (MiB)"),
        (axes[0][1], ("web_processes", "pool_processes", "jobs"), "processes"),
        (axes[1][0], ("open_files",), "open files + sockets"),
        (axes[1][1], ("cache_mib",), "cache folder (MiB)"),
    ]
    for ax, names, label in panels:
        for name in names:
            ax.plot(minutes, [getattr(s, name) for s in samples], marker=".", label=name)
        for minute in marks:
            ax.axvline(minute, color="grey", linestyle="--", linewidth=0.8)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("minutes since the start of the run")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True
