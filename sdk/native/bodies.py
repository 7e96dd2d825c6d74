"""The bodies of the messages this implementation sends and reads, by opcode: resolution, site information,
errors. An answer's body starts with the request's digest when the request set RD (`message.digest`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import wire
from .codes import OpFlag
from .message import Message, skip_digest
from .values import Site, Value, decode_values, encode_values
from .wire import Reader, WireError

MAX_HANDLE = 2_048  # bytes; the reference client refuses longer handles in answers too


@dataclass(frozen=True, slots=True)
class ResolutionRequest:
    """A handle and the values wanted: those at `indexes` or of `types` (all when both are empty)."""

    handle: str
    indexes: tuple[int, ...] = ()
    types: tuple[str, ...] = ()

    def encode(self) -> bytes:
        return wire.text(self.handle) + wire.ints(self.indexes) + wire.texts(self.types)

    @classmethod
    def decode(cls, body: bytes) -> ResolutionRequest:
        reader = Reader(body)
        handle = _handle(reader)
        request = cls(handle, tuple(reader.ints("index list")), tuple(reader.texts("type list")))
        reader.done("resolution request")
        return request


@dataclass(frozen=True, slots=True)
class ResolutionResponse:
    handle: str
    values: tuple[Value, ...]
    digest: bytes = b""


def resolution_body(handle: bytes, values: bytes, digest: bytes = b"") -> bytes:
    """A resolution answer's body: `values` already encoded (`values.encode_values`)."""
    return digest + wire.bytes_(handle) + values


def error_body(message: str, digest: bytes = b"") -> bytes:
    return digest + wire.text(message)


def site_body(site: Site, digest: bytes = b"") -> bytes:
    return digest + site.encode()


def _reader(message: Message) -> tuple[Reader, bytes]:
    reader = Reader(message.body)
    digest = skip_digest(reader) if message.has(OpFlag.RD) else b""
    return reader, digest


def read_resolution(message: Message) -> ResolutionResponse:
    reader, digest = _reader(message)
    handle = reader.text("handle")
    values = tuple(decode_values(reader))
    reader.done("resolution answer")
    return ResolutionResponse(handle, values, digest)


def read_error(message: Message) -> str:
    """An error answer's message; an empty one when a server sent none."""
    reader, _ = _reader(message)
    if reader.remaining == 0:
        return ""
    return reader.bytes_("error message").decode(errors="replace")


def read_site(message: Message) -> Site:
    reader, _ = _reader(message)
    site = Site.decode(reader)
    reader.done("site information")
    return site


def _handle(reader: Reader) -> str:
    raw = reader.bytes_("handle")
    if len(raw) > MAX_HANDLE:
        raise WireError(f"a handle of {len(raw)} bytes is longer than {MAX_HANDLE}", code=102)
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise WireError("the handle is not UTF-8", code=102) from None


@dataclass(frozen=True, slots=True)
class ValuesRequest:
    """CREATE_HANDLE, ADD_VALUE, MODIFY_VALUE: a handle and values."""

    handle: str
    values: tuple[Value, ...]

    def encode(self) -> bytes:
        return wire.text(self.handle) + encode_values(self.values)

    @classmethod
    def decode(cls, body: bytes) -> ValuesRequest:
        reader = Reader(body)
        request = cls(_handle(reader), tuple(decode_values(reader)))
        reader.done("values request")
        return request


@dataclass(frozen=True, slots=True)
class HandleRequest:
    """DELETE_HANDLE, LIST_HANDLES (of a prefix handle): a handle alone."""

    handle: str

    def encode(self) -> bytes:
        return wire.text(self.handle)

    @classmethod
    def decode(cls, body: bytes) -> HandleRequest:
        reader = Reader(body)
        request = cls(_handle(reader))
        reader.done("request")
        return request


@dataclass(frozen=True, slots=True)
class IndexesRequest:
    """REMOVE_VALUE: a handle and the indexes of the values to remove."""

    handle: str
    indexes: tuple[int, ...]

    def encode(self) -> bytes:
        return wire.text(self.handle) + wire.ints(self.indexes)

    @classmethod
    def decode(cls, body: bytes) -> IndexesRequest:
        reader = Reader(body)
        request = cls(_handle(reader), tuple(reader.ints("index list")))
        reader.done("remove request")
        return request


def handles_body(handles: Sequence[str], digest: bytes = b"") -> bytes:
    """A LIST_HANDLES answer's body: the handles."""
    return digest + wire.texts(handles)


def read_handles(message: Message) -> list[str]:
    reader, _ = _reader(message)
    handles = reader.texts("handle list")
    reader.done("handle list")
    return handles


__all__ = [
    "HandleRequest", "IndexesRequest", "ResolutionRequest", "ResolutionResponse", "ValuesRequest",
    "encode_values", "error_body", "handles_body", "read_error", "read_handles",
    "read_resolution", "read_site", "resolution_body", "site_body",
]  # fmt: skip
