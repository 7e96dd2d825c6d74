"""Fakes passed into the cache stages: a clock, a next stage and a point reader under the test's control."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from resolver.answer import Answer
from resolver.pipeline import StoreUnavailable


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def answer(value: str, ttl: int = 60) -> Answer:
    return Answer.from_stored(f'[{{"index":1,"type":"URL","data":"{value}","ttl":{ttl}}}]')


class FakeStore:
    """A next stage holding answers in a dict; `down` makes it fail as a database that is down would."""

    def __init__(self, answers: dict[str, Answer] | None = None) -> None:
        self.answers = answers or {}
        self.down = False
        self.calls: list[str] = []

    async def resolve(self, name: str) -> Answer | None:
        self.calls.append(name)
        if self.down:
            raise StoreUnavailable("down")
        return self.answers.get(name)

    async def resolve_many(self, names: Sequence[str]) -> list[Answer | None]:
        self.calls.extend(names)
        if self.down:
            raise StoreUnavailable("down")
        return [self.answers.get(name) for name in names]


class SlowReader:
    """A point reader that takes a while and counts its reads, to see concurrent reads collapse."""

    def __init__(self, stored: dict[str, str], *, fail: bool = False) -> None:
        self.stored = stored
        self.fail = fail
        self.reads = 0

    async def one(self, handle: str) -> str | None:
        self.reads += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionRefusedError("database down")
        return self.stored.get(handle)

    async def many(self, handles: Sequence[str]) -> dict[str, str]:
        self.reads += 1
        if self.fail:
            raise ConnectionRefusedError("database down")
        return {h: self.stored[h] for h in handles if h in self.stored}

    async def close(self) -> None:
        return None
