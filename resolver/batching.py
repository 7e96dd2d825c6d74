"""Work asked for in one event-loop instant, done together: keys fetched in one call (`Batcher`), items sent
in one call (`Gathered`).

Under load many requests miss in the same instant; each costs far more as a round trip of its own (a driver
call, a query the server plans and answers, a reply parsed in Python) than as one item of a shared one. Both
collect what they are given until the loop is next idle and then make one call of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
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


class Gathered(Generic[T]):
    """Items added in one instant, handed together to `send` (which nobody waits for) once the loop is next
    idle; `drain` sends what is waiting and lets every send under way finish."""

    def __init__(self, send: Callable[[list[T]], Awaitable[None]]) -> None:
        self._send = send
        self._waiting: list[T] = []
        self._running: set[asyncio.Task[None]] = set()

    def add(self, items: Iterable[T]) -> None:
        was_empty = not self._waiting
        self._waiting.extend(items)
        if was_empty and self._waiting:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        items, self._waiting = self._waiting, []
        if items:
            task = asyncio.ensure_future(self._send(items))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def drain(self) -> None:
        self._flush()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
