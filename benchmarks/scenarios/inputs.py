"""What the locust users of a scenario read from their environment, set by `python -m benchmarks run`.

Kept apart from the users themselves so that the harness can name the variables without importing locust
(which patches the standard library for gevent on import).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

PATHS = "IDNODE_BENCH_PATHS"  # a file of requests, one a line: a GET path or `POST PATH BODY`
PREFIX = "IDNODE_BENCH_PREFIX"  # the enterprise prefix: SNMS user name, and where new coils go
SECRET = "IDNODE_BENCH_SECRET"  # its secret
RECORDS = "IDNODE_BENCH_RECORDS"  # how many records data.records() seeded: the coils an update may pick
MARKS = "IDNODE_BENCH_MARKS"  # a file the locust master appends `start TIME` and `stop TIME` to

# supply_chain_day: the rates of its user classes, for all the users of a class together, and their counts.
DAY_RATES = {
    "DayReader": "IDNODE_BENCH_DAY_READS",  # GETs a second
    "MesLine": "IDNODE_BENCH_DAY_COILS",  # coils a second, in batchCreate requests of 100 to 1,000
    "DayCreate": "IDNODE_BENCH_DAY_CREATES",  # single SNMS creates a second
    "DayUpdate": "IDNODE_BENCH_DAY_UPDATES",  # single SNMS updates a second
    "DayLogin": "IDNODE_BENCH_DAY_LOGINS",  # SNMS logins a second
}
DAY_USERS = {"DayReader": 100, "MesLine": 4, "DayCreate": 2, "DayUpdate": 2, "DayLogin": 1}


def _variable(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"set {name} (python -m benchmarks run sets it; see benchmarks/README.md)")
    return value


@functools.cache
def request_lines() -> list[str]:
    """The requests file's lines, read once per process."""
    return [line for line in Path(_variable(PATHS)).read_text().splitlines() if line]


def login() -> tuple[str, str]:
    """The SNMS user name and password."""
    return _variable(PREFIX), _variable(SECRET)


def seeded_records() -> int:
    return int(_variable(RECORDS))
