"""At most N matrix jobs of one user at once; the rest wait in line and see their place."""

import threading
import time

import pytest

from dashboard import fairness
from dashboard.background import json_cache
from dashboard.fairness import Line


def _poll(condition, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {timeout} s")


class Job(threading.Thread):
    """Takes its turn in the line, then holds it until told to finish."""

    def __init__(self, line: Line, user: str) -> None:
        super().__init__(daemon=True)
        self.line, self.user = line, user
        self.places: list[int] = []
        self.running, self.finish = threading.Event(), threading.Event()

    def run(self) -> None:
        with self.line.turn(self.user, self.places.append):
            self.running.set()
            self.finish.wait(30)


def test_a_users_third_job_waits_for_a_place_and_others_do_not(tmp_path):
    limit = 2
    line = Line(json_cache(tmp_path / "line"), limit)
    first = [Job(line, "alice") for _ in range(limit)]
    for job in first:
        job.start()
    _poll(lambda: all(j.running.is_set() for j in first), "alice's first jobs to run")
    third, bobs = Job(line, "alice"), Job(line, "bob")
    third.start()
    bobs.start()
    _poll(lambda: bobs.running.is_set(), "bob's job to run: alice's line is not his")
    _poll(lambda: third.places == [1], "alice's third job to wait, told it is next")
    assert not third.running.is_set()
    first[0].finish.set()
    _poll(lambda: third.running.is_set(), "the third job to start once a place is free")
    for job in [*first, third, bobs]:
        job.finish.set()
        job.join(10)


def test_a_killed_job_frees_its_place_when_its_lease_runs_out(tmp_path, monkeypatch):
    monkeypatch.setattr(fairness, "LEASE_S", 1.0)
    line = Line(json_cache(tmp_path / "line"), 1)
    # a job that took its place and died without giving it back (its process was killed)
    assert line._try_to_start("alice", "killed-job") == 0
    waiting = Job(line, "alice")
    waiting.start()
    _poll(lambda: waiting.places == [1], "the next job to wait behind the dead one")
    _poll(lambda: waiting.running.is_set(), "the dead job's place to expire")
    waiting.finish.set()
    waiting.join(10)


def test_anonymous_use_never_waits(tmp_path):
    line = Line(json_cache(tmp_path / "line"), 1)
    with line.turn(None, lambda place: pytest.fail("waited")), line.turn(None, pytest.fail):
        pass
