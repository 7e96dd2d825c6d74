"""Coherence tokens: a table of counters, one per hash slot of handle names.

A reader notes a handle's token before it fetches the record and stores it with the cached answer; a writer
bumps the slots of the handles it changed once its transaction has committed. A cached answer whose token is
no longer its slot's value may be stale and is not served. Slots are shared by many handles, so a write makes
some unrelated answers miss once: cheap, and never wrong.

`Slots` lives in process memory; `SharedSlots` in a memory-mapped file, so that every process on a host sees
a write the instant it is made (how workers without Redis stay coherent).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import zlib
from collections.abc import Iterable
from pathlib import Path

# Creates bump slots too (a cached "not found" must end), so an MES line registering thousands of new handles
# a minute touches that many slots: with 65,536 of them, about a fifth of a hot set's L1 hits were lost to
# neighbours' creates in supply_chain_mix; a million slots (8 MiB a process, and in the shared file) keep that
# loss small.
SLOT_COUNT = 1 << 20
_MASK = SLOT_COUNT - 1


def slot_of(key: str) -> int:
    # A stable hash (Python's own is salted per process); slot 0 holds the generation counter.
    return 1 + (zlib.crc32(key.encode()) & _MASK)


class Slots:
    """Tokens in process memory (one event loop: no locking needed)."""

    def __init__(self) -> None:
        self._table = memoryview(bytearray(8 * (SLOT_COUNT + 1))).cast("Q")
        self._base = 0

    def token(self, key: str) -> int:
        return self._base + self._table[slot_of(key)]

    def bump(self, keys: Iterable[str]) -> None:
        table = self._table
        table[0] += 1
        for key in keys:
            table[slot_of(key)] = table[0]

    def bump_all(self) -> None:
        """Make every token change: for when changes may have been missed."""
        self._base += 1 << 48


class SharedSlots:
    """Tokens in a file mapped into every process that opens it; writers take a file lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 8 * (SLOT_COUNT + 1)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)
        self._table = memoryview(self._map).cast("Q")

    def token(self, key: str) -> int:
        return int(self._table[slot_of(key)])

    def bump(self, keys: Iterable[str]) -> None:
        # Each bump takes a new generation, so a slot never returns to a value a reader may hold.
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            generation = self._table[0] + 1
            self._table[0] = generation
            for key in keys:
                self._table[slot_of(key)] = generation
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._table.release()
        self._map.close()
        os.close(self._fd)
