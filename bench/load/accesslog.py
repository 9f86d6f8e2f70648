"""Server-side times from gunicorn's access log (gunicorn.conf.py's format: user, request line,
status, bytes, milliseconds, pid), split into the parts between gunicorn reloads (SIGHUP: new
workers with the code as it is then). The load run's locust figures cover the whole run; these
show what each reload changed, in the same run:

    python -m bench.load.accesslog /tmp/qkatlas-load-…/gunicorn.log
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

LINE = re.compile(r'^\S+ (\S+) "(\w+) (\S+) HTTP/[\d.]+" (\d{3}) (\d+|-) (\d+)ms pid=')
RELOAD = "Handling signal: hup"
BIG = 100_000  # bytes: an answer this big carries a figure (the matrix: ~3.5 MB)


def kind(method: str, path: str, size: int) -> str:
    if method == "GET":
        return "page"
    if "cacheKey=" in path:
        return "poll"
    return "callback, answer ≥ 100 KB (figures)" if size >= BIG else "callback, answer < 100 KB"


def parts(log: Path) -> list[dict]:
    """Per part of the log (split at each reload): statuses and times by kind of request."""
    found: list[dict] = [{"times": defaultdict(list), "statuses": defaultdict(int)}]
    for line in log.read_text(errors="replace").splitlines():
        if RELOAD in line:
            found.append({"times": defaultdict(list), "statuses": defaultdict(int)})
            continue
        match = LINE.match(line)
        if not match or match.group(1).startswith("warm-up"):
            continue
        _, method, path, status, size, ms = match.groups()
        part = found[-1]
        part["statuses"][status] += 1
        part["times"][kind(method, path, 0 if size == "-" else int(size))].append(int(ms))
    return [
        {
            "requests": sum(p["statuses"].values()),
            "statuses": dict(sorted(p["statuses"].items())),
            "by_kind": {
                k: {
                    "n": len(v),
                    **{f"p{q}_ms": round(float(np.percentile(v, q)), 1) for q in (50, 95, 99)},
                }
                for k, v in sorted(p["times"].items())
            },
        }
        for p in found
    ]


if __name__ == "__main__":
    print(json.dumps(parts(Path(sys.argv[1])), indent=1))
