"""The registry's change feed: what changed, told to whoever listens, read back from the journal.

Every write appends its changes to the journal in its own transaction. Listeners of this process hear of a
write once it has committed, before its writer is answered (so caches can drop old answers first); a
`JournalCursor` reads every process's changes back, in order, for whoever must catch what nobody announced.
The registry does not know who listens.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from .store import journal
from .store.engine import Store
from .store.journal import Changed

Listener = Callable[[Sequence[str]], Awaitable[None]]

# How long a missing journal number may still turn up: PostgreSQL hands sequence numbers out before commit,
# so a slower transaction may commit a lower number after a higher one was read.
GAP_PATIENCE = 10.0


class ChangeFeed:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with the keys every committed write of this process changed."""
        self._listeners.append(listener)

    async def publish(self, keys: Sequence[str]) -> None:
        for listener in self._listeners:
            await listener(keys)

    def cursor(self, *, clock: Callable[[], float] = time.monotonic) -> JournalCursor:
        return JournalCursor(self._store, clock=clock)

    async def changed_since(self, at: datetime) -> list[str]:
        """The distinct keys changed at or after `at`, by any process."""
        async with self._store.reader.connect() as conn:
            return await journal.handles_changed_since(conn, at)


class JournalCursor:
    """Reads the journal from where it last stopped: each change once, late commits included."""

    def __init__(self, store: Store, *, clock: Callable[[], float]) -> None:
        self._engine = store.reader
        self._clock = clock
        self._seen = 0
        self._gaps: dict[int, float] = {}  # numbers below the newest seen, not seen yet: until when to wait

    async def start(self) -> None:
        """Begin after the newest change: what happened before is not news."""
        async with self._engine.connect() as conn:
            self._seen = await journal.latest(conn)

    async def poll(self) -> list[Changed]:
        """The changes not read yet, oldest first."""
        floor = min(self._gaps, default=self._seen + 1) - 1
        async with self._engine.connect() as conn:
            changes = await journal.changed_after(conn, floor)
        fresh = [c for c in changes if c.seq > self._seen or c.seq in self._gaps]
        self._advance([c.seq for c in fresh])
        return fresh

    def _advance(self, seqs: list[int]) -> None:
        now = self._clock()
        for seq in seqs:
            self._gaps.pop(seq, None)
        newest = max(seqs, default=self._seen)
        for missing in set(range(self._seen + 1, newest)) - set(seqs):
            self._gaps[missing] = now + GAP_PATIENCE
        self._seen = max(self._seen, newest)
        self._gaps = {seq: until for seq, until in self._gaps.items() if until > now}
