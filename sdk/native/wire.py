"""Reading and writing the protocol's primitives: big-endian integers, length-prefixed byte strings (UTF-8
for text), arrays of them.

`Reader` checks every length against the bytes actually there before taking anything, so a length field
claiming four gigabytes costs nothing: decoders built on it take any bytes and fail with `WireError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class WireError(ValueError):
    """Bytes that are not what the protocol says they must be; `code` is the response code to answer with
    (4, protocol error, unless a caller knows better)."""

    def __init__(self, message: str, code: int = 4) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Reader:
    """A cursor over `data`: each read takes the next bytes or raises `WireError`."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes | memoryview, pos: int = 0, end: int | None = None) -> None:
        self.data = bytes(data) if isinstance(data, memoryview) else data
        self.pos = pos
        self.end = len(self.data) if end is None else min(end, len(self.data))

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def _take(self, size: int, what: str) -> int:
        at = self.pos
        if size < 0 or at + size > self.end:
            raise WireError(f"{what}: {size} bytes wanted at offset {at}, {self.end - at} there")
        self.pos = at + size
        return at

    def u8(self, what: str = "byte") -> int:
        return int(_U8.unpack_from(self.data, self._take(1, what))[0])

    def u16(self, what: str = "2-byte integer") -> int:
        return int(_U16.unpack_from(self.data, self._take(2, what))[0])

    def u32(self, what: str = "integer") -> int:
        return int(_U32.unpack_from(self.data, self._take(4, what))[0])

    def i32(self, what: str = "integer") -> int:
        return int(_I32.unpack_from(self.data, self._take(4, what))[0])

    def i64(self, what: str = "long") -> int:
        return int(_I64.unpack_from(self.data, self._take(8, what))[0])

    def raw(self, size: int, what: str = "bytes") -> bytes:
        at = self._take(size, what)
        return self.data[at : at + size]

    def bytes_(self, what: str = "byte string") -> bytes:
        """A 4-byte length, then that many bytes."""
        return self.raw(self.u32(f"{what} length"), what)

    def text(self, what: str = "string") -> str:
        """A byte string that must be UTF-8."""
        raw = self.bytes_(what)
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise WireError(f"{what} is not UTF-8") from None

    def count(self, item_size: int, what: str) -> int:
        """An array's 4-byte count, refused when even `item_size` bytes an item could not be there."""
        n = self.u32(f"{what} count")
        if n * item_size > self.remaining:
            raise WireError(f"{what}: {n} items cannot fit in {self.remaining} bytes")
        return n

    def ints(self, what: str = "integer list") -> list[int]:
        return [self.i32(what) for _ in range(self.count(4, what))]

    def byte_strings(self, what: str = "list") -> list[bytes]:
        return [self.bytes_(what) for _ in range(self.count(4, what))]

    def texts(self, what: str = "string list") -> list[str]:
        return [self.text(what) for _ in range(self.count(4, what))]

    def done(self, what: str = "message") -> None:
        """Nothing may follow."""
        if self.pos != self.end:
            raise WireError(f"{what}: {self.end - self.pos} unexpected bytes at its end")


def u8(value: int) -> bytes:
    return _U8.pack(value)


def u16(value: int) -> bytes:
    return _U16.pack(value)


def u32(value: int) -> bytes:
    return _U32.pack(value & 0xFFFFFFFF)


def i32(value: int) -> bytes:
    return _I32.pack(value)


def i64(value: int) -> bytes:
    return _I64.pack(value)


def bytes_(value: bytes) -> bytes:
    return _U32.pack(len(value)) + value


def text(value: str) -> bytes:
    return bytes_(value.encode())


def ints(values: Sequence[int]) -> bytes:
    return _U32.pack(len(values)) + b"".join(_I32.pack(v) for v in values)


def byte_strings(values: Sequence[bytes]) -> bytes:
    return _U32.pack(len(values)) + b"".join(bytes_(v) for v in values)


def texts(values: Iterable[str]) -> bytes:
    return byte_strings([v.encode() for v in values])
