"""Fakes passed into the cache stages: a clock, a next stage, a point reader and a view under the test's
control, and the queries the stages take."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from registry import Handle, Naming, Principal
from registry.visibility import Reader
from resolver.answer import Answer
from resolver.metrics import Metrics
from resolver.pipeline import StoreUnavailable
from resolver.query import Query

NAMING = Naming()  # the default rule: ASCII case does not tell handles apart


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def query(handle: str, *, reader: str | None = None) -> Query:
    """The query a front end makes for `handle` (as written), for the principal `reader` (None: anonymous)."""
    who = None if reader is None else Reader(Principal.parse(reader), NAMING, "88.999")
    return Query(Handle.parse(handle), NAMING, reader=who)


def answer(value: str, ttl: int = 60) -> Answer:
    return Answer.from_stored(f'[{{"index":1,"type":"URL","data":"{value}","ttl":{ttl}}}]')


class CountingView:
    """A front end's rendering that counts how often it is made: kept renderings are made once."""

    def __init__(self, key: str = "test") -> None:
        self.key = key
        self.renders = 0

    def render(self, answer: Answer) -> bytes:
        self.renders += 1
        return self.key.encode() + b":" + answer.public_record()


class FakeStore:
    """A next stage holding answers by handle key; `down` makes it fail as a database that is down would.

    `calls` lists the keys it was asked for, in order, so a test sees which resolutions reached it."""

    def __init__(self, answers: dict[str, Answer] | None = None) -> None:
        self.answers = answers or {}
        self.down = False
        self.calls: list[str] = []

    async def resolve(self, query: Query) -> Answer | None:
        self.calls.append(query.key)
        if self.down:
            raise StoreUnavailable("down")
        return self.answers.get(query.key)

    async def resolve_many(self, queries: Sequence[Query]) -> list[Answer | None]:
        self.calls.extend(query.key for query in queries)
        if self.down:
            raise StoreUnavailable("down")
        return [self.answers.get(query.key) for query in queries]


def rendered_metrics(metrics: Metrics) -> dict[str, float]:
    """`metrics.render()` read back as a scraper would: {name: value}, labels left out."""
    found: dict[str, float] = {}
    for line in metrics.render().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name.split("{")[0]] = float(value)
    return found


class SlowReader:
    """A point reader that takes a while and counts its reads, to see concurrent reads collapse."""

    def __init__(self, stored: dict[str, str], *, fail: bool = False) -> None:
        self.stored = stored
        self.fail = fail
        self.reads = 0
        self.batches: list[list[str]] = []  # the handles of each `many`

    async def one(self, handle: str) -> str | None:
        self.reads += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionRefusedError("database down")
        return self.stored.get(handle)

    async def many(self, handles: Sequence[str]) -> dict[str, str]:
        self.reads += 1
        self.batches.append(list(handles))
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionRefusedError("database down")
        return {h: self.stored[h] for h in handles if h in self.stored}

    async def close(self) -> None:
        return None
