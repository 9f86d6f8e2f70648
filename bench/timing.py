"""Small timing helpers and the PASS/FAIL floors the results are judged against."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """(result, seconds) of one call, wall clock."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every number."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass(frozen=True)
class Floor:
    """A performance floor: the measured value must not exceed the limit."""

    check: str
    value: float | None
    limit: float
    unit: str
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value <= self.limit

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def measured(self) -> str:
        return "not measured" if self.value is None else f"{self.value:.3g} {self.unit}"

    def line(self) -> str:
        return (
            f"{self.verdict}  {self.check}: {self.measured()} (floor ≤ {self.limit:g} {self.unit})"
        )
