"""Resolution as one chain of stages shared by every front end: parse → L1 → L2 → store (→ upstream).

Each stage answers or passes the query to the next one it was built with; `build_pipeline` fixes the order
in one place. Front ends parse their wire format into a normalised handle name and render the `Answer`.
A stage returns None for a handle that does not exist, and raises `StoreUnavailable` when the database
cannot answer and no cached answer may stand in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from registry.store.point_reads import PointReader

from .answer import Answer
from .metrics import Metrics

log = logging.getLogger("idnode.resolver")


class StoreUnavailable(Exception):
    """The database cannot answer right now."""


class Stage(Protocol):
    async def resolve(self, name: str) -> Answer | None:
        """The answer for the normalised handle `name`, or None when it does not exist."""
        ...

    async def resolve_many(self, names: Sequence[str]) -> list[Answer | None]:
        """Answers for distinct `names`, in their order, with one round trip per stage at most."""
        ...


class StoreStage:
    """The registry's database: one indexed read per handle, concurrent reads of one handle shared.

    After a failure, misses fail at once for `retry_after` seconds rather than each waiting on a database
    that is down; then one read tries again.
    """

    def __init__(
        self,
        reader: PointReader,
        metrics: Metrics,
        *,
        retry_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._metrics = metrics
        self._retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0
        self._flights: dict[str, asyncio.Task[Answer | None]] = {}

    async def resolve(self, name: str) -> Answer | None:
        flight = self._flights.get(name)
        if flight is None:
            self._check_up()
            flight = self._flights[name] = asyncio.ensure_future(self._read(name))
            flight.add_done_callback(lambda task: self._landed(name, task))
        return await asyncio.shield(flight)

    def _landed(self, name: str, task: asyncio.Task[Answer | None]) -> None:
        self._flights.pop(name, None)
        if not task.cancelled():
            task.exception()  # whoever waited has it; nobody else need be told it went unread

    async def resolve_many(self, names: Sequence[str]) -> list[Answer | None]:
        self._check_up()
        self._metrics.store_queries += 1
        try:
            stored = await self._reader.many(names)
        except Exception as exc:
            raise self._failed(exc) from exc
        self._metrics.store_reads += len(names)
        self._up()
        return [Answer.from_stored(stored[n]) if n in stored else None for n in names]

    def _check_up(self) -> None:
        if self._down_until and self._clock() < self._down_until:
            raise StoreUnavailable("the database did not answer just now")

    async def _read(self, name: str) -> Answer | None:
        self._metrics.store_queries += 1
        try:
            stored = await self._reader.one(name)
        except Exception as exc:
            raise self._failed(exc) from exc
        self._metrics.store_reads += 1
        self._up()
        return None if stored is None else Answer.from_stored(stored)

    def _up(self) -> None:
        self._down_until = 0.0
        self._metrics.store_up = 1

    def _failed(self, exc: Exception) -> StoreUnavailable:
        log.warning("database read failed: %r", exc)
        self._metrics.store_errors += 1
        self._metrics.store_up = 0
        self._down_until = self._clock() + self._retry_after
        return StoreUnavailable(f"the database did not answer ({type(exc).__name__})")
