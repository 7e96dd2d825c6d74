"""The locust scenarios, one user class each; name the class to run it (`python -m benchmarks list`).

    python -m benchmarks run resolve_hot          # seeds a node, runs the class, measures and reports

or by hand against a node that holds the scenario's records (see benchmarks/README.md):

    python -m benchmarks.workload /tmp/paths.txt  # the handles resolve_hot seeds, Zipf-sampled
    IDNODE_BENCH_PATHS=/tmp/paths.txt locust -f benchmarks/locustfile.py --headless -u 50 -r 50 -t 20s \\
        --host http://127.0.0.1:8000 ResolveHot

The SNMS classes also need IDNODE_BENCH_PREFIX and IDNODE_BENCH_SECRET (and IDNODE_BENCH_RECORDS for the
mix). One locust process drives a few thousand requests a second: it measures the node only when the node
is the slower of the two (the harness says which was).
"""

from __future__ import annotations

import os
import time
from typing import Any

from locust import events
from locust.runners import WorkerRunner

from benchmarks.scenarios.day import DayCreate, DayLogin, DayReader, DayUpdate, MesLine
from benchmarks.scenarios.inputs import MARKS
from benchmarks.scenarios.resolve import ResolveBatch, ResolveCold, ResolveHot
from benchmarks.scenarios.snms import RegisterBatch, SupplyChainMix

__all__ = [
    "DayCreate",
    "DayLogin",
    "DayReader",
    "DayUpdate",
    "MesLine",
    "RegisterBatch",
    "ResolveBatch",
    "ResolveCold",
    "ResolveHot",
    "SupplyChainMix",
]


def _mark(event: str, environment: Any) -> None:
    """When the test started and stopped (the master's clock), for the harness's CPU window."""
    marks = os.environ.get(MARKS)
    if marks and not isinstance(environment.runner, WorkerRunner):
        with open(marks, "a") as file:
            file.write(f"{event} {time.time()}\n")


def _started(environment: Any, **_: Any) -> None:
    _mark("start", environment)


def _stopped(environment: Any, **_: Any) -> None:
    _mark("stop", environment)


# Called, not used as decorators: locust leaves add_listener unannotated.
events.test_start.add_listener(_started)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_stopped)  # type: ignore[no-untyped-call]
