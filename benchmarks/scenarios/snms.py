"""locust users of the SNMS scenarios: register_batch (batchCreate of 1,000 new coils a request) and
supply_chain_mix (resolves, batch creates, updates and details in the proportions of a steel chain's day).

Each user logs in once. SNMS answers HTTP 200 whatever happened: a request counts as failed when the
envelope's status, or any item's code in a batch, is not 1.
"""

from __future__ import annotations

import functools
import itertools
import os
import secrets
from typing import Any

import orjson
from locust import task
from locust.contrib.fasthttp import ResponseContextManager

from ..data import Record, as_snms, coil
from .inputs import login, seeded_records
from .resolve import ACCEPT, Picker

OK = 1  # SNMS status and item code of success
JSON_BODY = {"Content-Type": "application/json"}
COIL_VALUES = 8  # every item of the steel-coil template
NUMBERS = itertools.count()  # coils created in this process, by every scenario's users


@functools.cache
def _run_id(pid: int) -> str:
    """A random id per process (locust forks its workers after importing this module, hence the pid)."""
    return secrets.token_hex(4)


def unique(record: Record) -> Record:
    """The record under a handle no other request, user, process or run uses: the run id and the count."""
    handle, fields = record
    prefix, _, suffix = handle.partition("/")
    return f"{prefix}/{suffix.replace('COIL-', f'COIL-{_run_id(os.getpid())}-')}", fields


def _failure(answer: Any) -> str | None:
    """Why an SNMS answer is a failure, or None when it and every item in it succeeded."""
    if not isinstance(answer, dict) or answer.get("status") != OK:
        return f"SNMS answered {str(answer)[:200]}"
    items = answer.get("data")
    if isinstance(items, list):
        bad = [item for item in items if item.get("code") != OK]
        if bad:
            return f"{len(bad)} of {len(items)} items failed, e.g. {bad[0]}"
    return None


class SnmsUser(Picker):
    """Logs in once; sends SNMS requests with its token and checks their envelopes."""

    abstract = True
    auth: dict[str, str]

    def on_start(self) -> None:
        super().on_start()
        username, password = login()
        body = {"username": username, "password": password}
        with self.client.post("/identity/token", json=body, name="login", catch_response=True) as answer:
            token = (answer.json().get("data") or {}).get("token") if answer.status_code == 200 else None
            if not token:
                fail(answer, f"no token: {(answer.text or '')[:200]}")
                raise RuntimeError("SNMS login failed")  # stops this user; locust counts the error
        self.auth = {**ACCEPT, "Authorization": f"Bearer {token}"}

    def snms(
        self, method: str, path: str, name: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        with self.client.request(
            method, path, name=name, headers={**self.auth, **(headers or {})}, catch_response=True, **kwargs
        ) as answer:
            check(answer)

    def create_coils(self, count: int, name: str) -> None:
        prefix = login()[0]
        items = [as_snms(unique(coil(next(NUMBERS), prefix, self.rng, COIL_VALUES))) for _ in range(count)]
        # orjson, not locust's json=: the generator's CPU is taken from the node's two cores.
        body = orjson.dumps(items)
        self.snms("POST", "/identityv2/data/batchCreate", name, data=body, headers=JSON_BODY)


def check(answer: ResponseContextManager) -> None:
    if answer.status_code != 200:
        fail(answer, f"HTTP {answer.status_code}: {(answer.text or '')[:200]}")
        return
    reason = _failure(orjson.loads(answer.content or b"null"))
    if reason is not None:
        fail(answer, reason)


def fail(answer: ResponseContextManager, reason: str) -> None:
    answer.failure(reason)  # type: ignore[no-untyped-call]  # locust leaves it unannotated


class RegisterBatch(SnmsUser):
    """batchCreate of 1,000 new steel coils (template 1.0) a request, one after another."""

    @task
    def register_batch(self) -> None:
        self.create_coils(1_000, "register_batch")


class SupplyChainMix(SnmsUser):
    """90 % Zipf GETs, 5 % batchCreate of 100 to 1,000 new coils, 4 % updates of seeded coils, 1 % details."""

    def on_start(self) -> None:
        super().on_start()
        # One detail per user first: a short run (a few hundred requests) measures every kind of request,
        # the rarest too; against a run's thousands of requests it changes nothing.
        self.detail()

    @task(90)
    def resolve(self) -> None:
        self.client.get(self.pick(), name="mix: GET /api/handles", headers=ACCEPT)

    @task(5)
    def batch_create(self) -> None:
        self.create_coils(self.rng.randint(100, 1_000), "mix: batchCreate")

    @task(4)
    def update(self) -> None:
        # Coils are the odd records of data.records(); new values drawn from this user's generator.
        n = 2 * self.rng.randrange(seeded_records() // 2) + 1
        self.snms(
            "PUT", "/identityv2/data", "mix: update", json=as_snms(coil(n, login()[0], self.rng, COIL_VALUES))
        )

    @task(1)
    def detail(self) -> None:
        handle = self.pick().removeprefix("/api/handles/")
        self.snms("GET", "/identityv2/data/detail", "mix: detail", params={"handle": handle})
