"""L1: the in-process cache, bounded in entries and bytes, least recently used out first."""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from resolver.answer import Answer

ENTRY_OVERHEAD = 200  # bytes an entry costs beyond its answer, roughly: key, tuple, numbers


class Entry(NamedTuple):
    """A cached answer (`encoded` None: the handle does not exist), until when it is fresh and until when
    it may still be served stale, and the coherence token read before it was fetched.

    Bytes and numbers only, one object per entry: a large cache adds little to the work of every full
    garbage collection (parsed values would add dozens of objects per entry).
    """

    encoded: bytes | None
    ttl: int
    fresh_until: float
    stale_until: float
    token: int

    @classmethod
    def of(cls, answer: Answer | None, fresh_until: float, stale_until: float, token: int) -> Entry:
        if answer is None:
            return cls(None, 0, fresh_until, stale_until, token)
        return cls(answer.encoded, answer.ttl, fresh_until, stale_until, token)

    @property
    def answer(self) -> Answer | None:
        return None if self.encoded is None else Answer(self.encoded, self.ttl)

    @property
    def size(self) -> int:
        return ENTRY_OVERHEAD + (len(self.encoded) if self.encoded is not None else 0)


class L1Cache:
    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def peek(self, key: str) -> Entry | None:
        """The entry, without counting it as a use."""
        return self._entries.get(key)

    def put(self, key: str, entry: Entry) -> None:
        self.drop(key)
        self._entries[key] = entry
        self.bytes += entry.size
        while len(self._entries) > self._max_entries or self.bytes > self._max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size

    def drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
