"""An optional local read cache: resolved records kept for their TTL (the smallest of their values')."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from ._models import Record


class ReadCache:
    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, Record]] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    def get(self, handle: str) -> Record | None:
        found = self._entries.get(handle)
        if found is None:
            return None
        until, record = found
        if until <= self._clock():
            del self._entries[handle]
            return None
        self._entries.move_to_end(handle)
        return record

    def put(self, record: Record) -> None:
        if self._max <= 0 or record.ttl <= 0:
            return
        self._entries[record.handle] = (self._clock() + record.ttl, record)
        self._entries.move_to_end(record.handle)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, handle: str) -> None:
        self._entries.pop(handle, None)
