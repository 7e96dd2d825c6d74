"""locust users of the resolve scenarios: single GETs (resolve_hot, resolve_cold) and POST /api/resolve
batches (resolve_batch), each picked uniformly from the requests file, without waiting between requests.

The file holds the distribution: Zipf-skewed samples, every handle once (uniform), or batches cut from the
samples (benchmarks/workload.py writes them); wrk reads the same file through benchmarks/paths.lua.
"""

from __future__ import annotations

import itertools
import random

from locust import FastHttpUser, constant, task

from .inputs import request_lines

ACCEPT = {"Accept": "application/json"}
POSTED = {**ACCEPT, "Content-Type": "application/json"}
_users = itertools.count()  # users started in this process, for their seeds


class Picker(FastHttpUser):
    """A user picking requests from the file with its own seeded generator: the same choices run after run,
    different ones in each user and worker process."""

    abstract = True
    wait_time = constant(0)
    rng: random.Random

    def on_start(self) -> None:
        worker = getattr(self.environment.runner, "worker_index", 0)
        self.rng = random.Random(f"{type(self).__name__}-{worker}-{next(_users)}")

    def pick(self) -> str:
        return self.rng.choice(request_lines())


class ResolveHot(Picker):
    """GETs of Zipf-skewed handles (the skew is in the list of sampled paths)."""

    @task
    def resolve_hot(self) -> None:
        # One stats row for every handle, rather than one per path.
        self.client.get(self.pick(), name="resolve_hot", headers=ACCEPT)


class ResolveCold(Picker):
    """GETs spread uniformly over every seeded handle: mostly store reads."""

    @task
    def resolve_cold(self) -> None:
        self.client.get(self.pick(), name="resolve_cold", headers=ACCEPT)


class ResolveBatch(Picker):
    """POST /api/resolve with the body of a `POST PATH BODY` line."""

    @task
    def resolve_batch(self) -> None:
        _, path, body = self.pick().split(" ", 2)
        self.client.post(path, data=body, name="resolve_batch", headers=POSTED)
