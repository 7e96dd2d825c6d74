"""A serving process's part in reporting to the parent, every `interval` seconds.

Every process adds what it counted to the database and queues the events it heard; one process of the
node at a time — the holder of a lease in the database — follows the registry's changes into the outbox,
queues the hourly and daily reports, and sends what is due. A process that stops lets its lease run out and
another one takes over; the outbox is in the database, so nothing queued is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from registry import InvalidInput, Services
from registry.hierarchy import Parent
from registry.reporting import Outbox, add_counts
from registry.reporting.marks import release_lease, take_lease

from ..health import Health
from ..metrics import Metrics
from ..settings import Settings
from . import formats
from .events import Events
from .feeder import Feeder
from .sender import Sender
from .stats import ResolutionStats

log = logging.getLogger("idnode.reporting")


class Reporter:
    def __init__(
        self,
        services: Services,
        parent: Parent,
        stats: ResolutionStats,
        place: formats.Place,
        *,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._services = services
        self._stats = stats
        self._place = place
        self._interval = interval
        self._clock = clock
        self.outbox = Outbox(services.store, clock=clock)
        self.parent = Health("parent", retry_after=interval)
        self.events = Events(services.node.prefix, clock=clock)
        self.events.watch(self.parent)
        self.feeder = Feeder(services, self.outbox, clock=clock)
        self.sender = Sender(self.outbox, parent, services.node.prefix, health=self.parent)
        self.backlog = 0
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None

    def watch(self, health: Health) -> None:
        """Report `health`'s outages and recoveries as events."""
        self.events.watch(health)

    async def start(self) -> None:
        self.backlog = await self.outbox.backlog()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                await self.round()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("reporting to the parent waits for the next round: %s", exc)
            except Exception:  # a bug: logged, and the next round tried all the same
                log.exception("a reporting round failed")
            await asyncio.sleep(self._interval)

    async def round(self) -> None:
        """Store this process's counts and events; then, holding the lease, feed the outbox and send it."""
        await self._store_counts()
        await self.events.store(self.outbox)
        self.backlog = await self.outbox.backlog()
        lease = max(30.0, 3 * self._interval)
        if not await take_lease(self._services.store, self._owner, now=self._clock(), seconds=lease):
            return
        await self.outbox.enqueue([formats.config(self._place)])
        await self.feeder.changes()
        await self.feeder.hourly()
        await self.feeder.daily()
        await self.sender.send()

    async def _store_counts(self) -> None:
        counted = self._stats.take()
        if not counted:
            return
        try:
            await add_counts(self._services.store, counted)
        except BaseException:
            self._stats.give_back(counted)
            raise

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # The last counts and events, if the database answers; and the lease, for the next process to take.
        with contextlib.suppress(SQLAlchemyError, OSError):
            await self._store_counts()
            await self.events.store(self.outbox)
            await release_lease(self._services.store, self._owner)
        await self.sender.close()


@contextlib.asynccontextmanager
async def reporting(
    settings: Settings,
    services: Services,
    parent: Parent | None,
    stats: ResolutionStats,
    metrics: Metrics,
    watched: Iterable[Health | None],
) -> AsyncIterator[Reporter | None]:
    """The process's reporter while the block runs, on a node that has a `parent` (None on one without)."""
    if parent is None:
        yield None
        return
    # Imported here: the native front end imports the front ends' context, which imports this package.
    from ..frontends.native.site import reachable_address

    address = reachable_address(settings.native_host or "127.0.0.1")
    place = formats.Place(services.node.prefix, (address,), settings.native_port, settings.http_port)
    reporter = Reporter(services, parent, stats, place, interval=settings.report_interval)
    for health in watched:
        if health is not None:
            reporter.watch(health)
    metrics.gauges["report_outbox_backlog"] = lambda: reporter.backlog
    await reporter.start()
    try:
        yield reporter
    finally:
        await reporter.close()


@dataclass(frozen=True, slots=True)
class Flushed:
    queued: int
    sent: int
    remaining: int
    failure: str | None


async def flush(services: Services, parent: Parent | None) -> Flushed:
    """Everything due now into the outbox — the changes not reported yet, every enterprise and template, the
    days ended and today so far — and the outbox to the parent, due or not (`idnode report flush`). The
    resolution configuration is the serving processes' to report: they know where they listen."""
    if parent is None:
        raise InvalidInput(
            "this node has no parent to report to (idnode init --parent URL --parent-secret …)"
        )
    outbox = Outbox(services.store)
    feeder = Feeder(services, outbox)
    queued = await feeder.changes() + await feeder.snapshot(templates=True)
    queued += await feeder.daily() + await feeder.today()
    sender = Sender(outbox, parent, services.node.prefix, health=Health("parent"))
    try:
        sent = await sender.send(everything=True)
    finally:
        await sender.close()
    return Flushed(queued, sent.sent, await outbox.backlog(), sent.failure)
