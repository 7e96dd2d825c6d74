"""The bodies of the messages this implementation sends and reads, by opcode: resolution, site information,
errors. An answer's body starts with the request's digest when the request set RD (`message.digest`)."""

from __future__ import annotations

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
        raw = reader.bytes_("handle")
        if len(raw) > MAX_HANDLE:
            raise WireError(f"a handle of {len(raw)} bytes is longer than {MAX_HANDLE}", code=102)
        try:
            handle = raw.decode()
        except UnicodeDecodeError:
            raise WireError("the handle is not UTF-8", code=102) from None
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


def generic_body(digest: bytes = b"") -> bytes:
    """The body of an answer that says only that it succeeded."""
    return digest


__all__ = [
    "ResolutionRequest", "ResolutionResponse", "encode_values", "error_body", "generic_body",
    "read_error", "read_resolution", "read_site", "resolution_body", "site_body",
]  # fmt: skip
