"""Anomaly and recovery events: a dependency (the database, Redis, the parent) going down and coming back,
as its `Health` tells them. Heard on the spot, queued in memory, and put into the outbox at the next
reporting round (the database itself may be what is down)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from registry.reporting import Outbox, Report

from ..health import Health
from . import formats

# What kind of anomaly each dependency's outage is (formats.NETWORK, SYSTEM, ATTACK, OTHER).
KIND_OF = {"store": formats.SYSTEM, "redis": formats.SYSTEM, "parent": formats.NETWORK}
_WHAT = {"store": "the database", "redis": "Redis", "parent": "the parent node"}


class Events:
    def __init__(self, node_prefix: str, *, clock: Callable[[], float] = time.time) -> None:
        self._node_prefix = node_prefix
        self._clock = clock
        self._pending: list[Report] = []
        self._open: dict[str, str] = {}  # dependency → the id of its outage's event

    def watch(self, health: Health) -> None:
        health.listeners.append(self.heard)

    def heard(self, health: Health, failure: BaseException | None) -> None:
        what = _WHAT.get(health.name, health.name)
        kind = KIND_OF.get(health.name, formats.OTHER)
        event_id = f"{self._node_prefix}-{uuid.uuid4().hex[:16]}"
        if failure is not None:
            self._open[health.name] = event_id
            reason = f"{what} unavailable: {failure}"[:500]
            self._pending.append(formats.event(event_id, at=self._clock(), reason=reason, type=kind))
            return
        related = self._open.pop(health.name, None)
        back = formats.event(
            event_id,
            at=self._clock(),
            reason=f"{what} answers again",
            type=kind,
            related=related,
            recovery=True,
        )
        self._pending.append(back)

    async def store(self, outbox: Outbox) -> int:
        """Queue the events heard since the last time (kept for the next time if the database fails)."""
        pending, self._pending = self._pending, []
        try:
            return await outbox.enqueue(pending)
        except BaseException:
            self._pending = pending + self._pending
            raise
