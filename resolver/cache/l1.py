"""L1: the in-process cache, bounded in entries and bytes, least recently used out first."""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from resolver.answer import Answer, RemoteAnswer, Renderings

ENTRY_OVERHEAD = 200  # bytes an entry costs beyond its answer, roughly: key, tuple, numbers


class Entry(NamedTuple):
    """A cached answer (`record` None: the handle does not exist) with the renderings made of it, until when
    it is fresh and until when it may still be served stale, and the coherence token read before it was
    fetched.

    Bytes, numbers and tuples of them only: the garbage collector stops tracking such tuples, so a large
    cache adds little to the work of every full collection (parsed values would add dozens of objects an
    entry).
    """

    record: bytes | None
    ttl: int
    public: bool
    renderings: Renderings
    fresh_until: float
    stale_until: float
    token: int
    remote: bool = False  # another node's answer (the upstream's), held for its TTL

    @classmethod
    def of(cls, answer: Answer | None, fresh_until: float, stale_until: float, token: int) -> Entry:
        if answer is None:
            return cls(None, 0, True, (), fresh_until, stale_until, token)
        fields = (answer.record, answer.ttl, answer.public, answer.renderings)
        return cls(*fields, fresh_until, stale_until, token, answer.remote)

    @property
    def answer(self) -> Answer | None:
        if self.record is None:
            return None
        made = RemoteAnswer if self.remote else Answer
        return made(self.record, self.ttl, self.public, renderings=self.renderings)

    @property
    def size(self) -> int:
        if self.record is None:
            return ENTRY_OVERHEAD
        if not self.renderings:  # the usual case, and every miss's
            return ENTRY_OVERHEAD + len(self.record)
        return ENTRY_OVERHEAD + len(self.record) + sum(len(body) for _, body in self.renderings)


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
