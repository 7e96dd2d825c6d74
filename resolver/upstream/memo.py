"""What the upstream stage remembers: answers and routes of other nodes, each fresh for its TTL and kept a
while longer to stand in, marked stale, while the node it came from is down."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Memo(Generic[T]):
    """Bounded (the oldest entries go first), by key; an entry is (value, fresh until, kept until)."""

    def __init__(
        self, *, max_entries: int, stale_seconds: float, clock: Callable[[], float] = time.monotonic
    ):
        self._entries: OrderedDict[str, tuple[T, float, float]] = OrderedDict()
        self._max = max_entries
        self._stale = stale_seconds
        self._clock = clock

    def fresh(self, key: str) -> tuple[bool, T | None]:
        """(True, value) when a fresh entry is held; (False, None) otherwise."""
        entry = self._entries.get(key)
        if entry is None or entry[1] <= self._clock():
            return False, None
        return True, entry[0]

    def stale(self, key: str) -> tuple[bool, T | None]:
        """(True, value) when an entry past its freshness may still stand in."""
        entry = self._entries.get(key)
        if entry is None or entry[2] <= self._clock():
            return False, None
        return True, entry[0]

    def keep(self, key: str, value: T, ttl: float) -> None:
        now = self._clock()
        self._entries[key] = (value, now + ttl, now + ttl + self._stale)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
