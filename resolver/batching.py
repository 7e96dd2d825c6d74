"""Keys asked for in one event-loop instant, fetched together.

Under load many requests miss in the same instant; each costs far more as a round trip of its own (a driver
call, a query the server plans and answers, a reply parsed in Python) than as one item of a shared one. The
batcher collects the keys asked for until the loop is next idle and fetches them in one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    """`get(key)` is a future of what `fetch([keys…])` returns for `key`, the keys of one instant fetched in
    one call. A failed fetch fails every future of its batch with the same exception."""

    def __init__(self, fetch: Callable[[list[str]], Awaitable[Sequence[T]]]) -> None:
        self._fetch = fetch
        self._pending: dict[str, asyncio.Future[T]] = {}
        self._running: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    def get(self, key: str) -> asyncio.Future[T]:
        future = self._pending.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            if not self._pending:
                loop.call_soon(self._flush)
            future = self._pending[key] = loop.create_future()
        return future

    def _flush(self) -> None:
        batch, self._pending = self._pending, {}
        task = asyncio.ensure_future(self._deliver(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _deliver(self, batch: dict[str, asyncio.Future[T]]) -> None:
        try:
            found = await self._fetch(list(batch))
        except Exception as exc:  # every waiter learns of the failure
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
            return
        for future, item in zip(batch.values(), found, strict=True):
            if not future.done():
                future.set_result(item)
