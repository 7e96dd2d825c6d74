"""SNMS batch writes in processes of their own (`IDNODE_WRITE_PROCESSES=N`): reads never wait for them.

A batch of a thousand coils costs its serving process about a quarter of a second of its event loop: parsing,
checking against the template, encoding and storing each record. Resolutions waiting behind that on the same
loop is what made the readers' p99 five to eleven times longer in a day of writes (benchmarks/README.md). With
write processes, the serving process only authenticates the request and hands its bytes over; a write process
(spawned, at nice +10 so that the readers' processes get the CPU first) does the rest through the registry,
like `idnode`'s own commands (`open_writer`): its writes are invalidated and announced to every serving
process before it answers, so a client reads its own writes from any of them.

A write process that dies fails the batches it was writing with SNMS status -4 (retry: an item already
written answers "exists"), and a new pool is started for the next batch.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from registry import Principal
from registry.audit import source

from .settings import Settings

if TYPE_CHECKING:  # the node opens these processes: imported where they start, not here
    from .node import Node

log = logging.getLogger(__name__)

NICE = 10  # CPU priority of the write processes below the serving ones: the kernel runs reads first
Outcome = tuple[int, str, Any]  # an SNMS envelope's status, message and data


class WriteProcesses:
    """A pool of write processes, started with the serving process and stopped with it."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._pool: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._count, mp_context=multiprocessing.get_context("spawn"), initializer=_start
            )
        return self._pool

    async def start(self) -> None:
        """Start the processes and wait until each has opened the registry: the first batch does not pay."""
        pool, loop = self._started(), asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(self._count)))

    async def snms_batch(self, kind: str, principal: Principal, body: bytes) -> Outcome:
        """SNMS `batchCreate` (`kind` "create") or `batchUpdate` ("update") of `body` by `principal`."""
        pool = self._started()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool, _snms_batch, kind, principal, body, source.get()
            )
        except BrokenProcessPool:
            log.warning("a write process died: its batches failed, new write processes start")
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            from .frontends.snms.envelope import INTERNAL, INTERNAL_ERROR

            return INTERNAL, INTERNAL_ERROR, None

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True)


# ------------------------------------------------------------------------------- in a write process


@dataclass
class _Process:
    loop: asyncio.AbstractEventLoop
    node: Node


_process: _Process | None = None


def _start() -> None:
    """A write process's start: a lower priority, an event loop, the registry opened as `idnode` opens it."""
    from .node import open_writer

    global _process
    os.nice(NICE)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stack = contextlib.AsyncExitStack()
    node = loop.run_until_complete(stack.enter_async_context(open_writer(Settings.from_env())))
    atexit.register(lambda: loop.run_until_complete(stack.aclose()))
    _process = _Process(loop, node)


def _ready() -> int:
    return os.getpid()


def _snms_batch(kind: str, principal: Principal, body: bytes, address: str) -> Outcome:
    assert _process is not None, "started by the pool's initializer"
    return _process.loop.run_until_complete(_write(_process.node, kind, principal, body, address))


async def _write(node: Node, kind: str, principal: Principal, body: bytes, address: str) -> Outcome:
    from .frontends.snms.envelope import OK, SUCCESS, failure_of
    from .frontends.snms.identifiers import BATCH_WRITES, batch_results

    source.set(address)  # the audit names the client, as in the serving process
    try:
        return OK, SUCCESS, await batch_results(node.services.records, principal, body, BATCH_WRITES[kind])
    except Exception as exc:  # every failure answered in SNMS terms, as the endpoint would
        return (*failure_of(exc), None)
