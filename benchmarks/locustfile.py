"""locust scenario `resolve_hot`: anonymous GETs of Zipf-skewed handles, as `python -m benchmarks.resolve_hot`
drives them with wrk.

    python -m benchmarks.workload /tmp/paths.txt      # the same handles resolve_hot seeds and asks for
    IDNODE_BENCH_PATHS=/tmp/paths.txt locust -f benchmarks/locustfile.py --headless -u 50 -r 50 -t 20s \\
        --host http://127.0.0.1:8000

The node must hold resolve_hot's records (`resolve_hot` writes the file and sets the variable itself when
run with --locust). One locust process drives a few thousand requests a second: it measures the node only
when the node is the slower of the two.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, task

PATHS_VARIABLE = "IDNODE_BENCH_PATHS"


def _paths() -> list[str]:
    file = os.environ.get(PATHS_VARIABLE)
    if not file:
        raise SystemExit(f"set {PATHS_VARIABLE} to a file of GET paths (python -m benchmarks.workload FILE)")
    return Path(file).read_text().split()


class ResolveHot(FastHttpUser):
    """Picks uniformly from the sampled paths (the skew is in the list) and GETs, without waiting."""

    wait_time = constant(0)
    paths = _paths()
    choose = random.Random(1).choice  # seeded, like the wrk script's pick

    @task
    def resolve_hot(self) -> None:
        # One stats row for every handle, rather than one per path.
        self.client.get(self.choose(self.paths), name="resolve_hot", headers={"Accept": "application/json"})
