"""Envelopes and messages: the framing every native request and answer shares.

A message on the wire is an envelope (20 bytes: versions, flags, session, request, sequence, length) and the
message it frames: a header (24 bytes), the body and a credential (length-prefixed; empty when unsigned).
A request's digest, which an answer returns when the request sets RD, is of the request's header and body as
they were sent.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, replace

from .codes import ENVELOPE_SIZE, HEADER_SIZE, MAJOR, MAX_MESSAGE, MINOR, EnvelopeFlag, HashType, OpFlag
from .wire import Reader, WireError

_ENVELOPE = struct.Struct(">BBBBIIII")
_HEADER = struct.Struct(">IIIHBBII")
_U32 = struct.Struct(">I")

# The oldest protocol this implementation answers in: 2.1 introduced the request digest in its present form.
OLDEST = (2, 1)
NEWEST = (MAJOR, MINOR)


def negotiated(major: int, minor: int) -> tuple[int, int]:
    """The version to answer a peer that speaks `major.minor` in: the peer's, capped at ours. A peer older
    than 2.1 is answered in 2.1, which it then refuses or not: nothing older is spoken here."""
    return max(OLDEST, min(NEWEST, (major, minor)))


@dataclass(frozen=True, slots=True)
class Envelope:
    """The 20 bytes before each message (or each datagram of one). `suggested_*` is the version the sender
    would like to be answered in (the reference client packs it into the flag bytes; zero means none)."""

    major: int = MAJOR
    minor: int = MINOR
    flags: EnvelopeFlag = EnvelopeFlag.NONE
    suggested_major: int = MAJOR
    suggested_minor: int = MINOR
    session_id: int = 0
    request_id: int = 0
    sequence: int = 0
    length: int = 0

    @classmethod
    def decode(cls, data: bytes | memoryview) -> Envelope:
        """The envelope at the start of `data`; a length over the protocol's limit is refused unread."""
        if len(data) < ENVELOPE_SIZE:
            raise WireError(f"an envelope is {ENVELOPE_SIZE} bytes, {len(data)} there")
        major, minor, flag, suggested_minor, session, request, sequence, length = _ENVELOPE.unpack_from(data)
        if length > MAX_MESSAGE:
            raise WireError(f"a message of {length} bytes is longer than {MAX_MESSAGE}")
        suggested_major = flag & 0x03
        if suggested_major == 0:  # an older sender: it wants its own version
            suggested_major, suggested_minor = major, minor
        return cls(
            major, minor, EnvelopeFlag(flag & 0xE0), suggested_major, suggested_minor, session, request,
            sequence, length,
        )  # fmt: skip

    def encode(self) -> bytes:
        flag = int(self.flags) | (self.suggested_major & 0x03)
        return _ENVELOPE.pack(
            self.major, self.minor, flag, self.suggested_minor, self.session_id, self.request_id,
            self.sequence, self.length,
        )  # fmt: skip

    @property
    def wanted(self) -> tuple[int, int]:
        """The version the sender asks to be answered in, negotiated against ours."""
        return negotiated(self.suggested_major, self.suggested_minor)

    def answer(self, length: int, version: tuple[int, int], sequence: int = 0) -> Envelope:
        """The envelope of an answer to the message this one framed."""
        major, minor = version
        return replace(
            self, major=major, minor=minor, flags=EnvelopeFlag.NONE, suggested_major=MAJOR,
            suggested_minor=MINOR, sequence=sequence, length=length,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Message:
    """A header's fields, the body and the credential. `response_code` is 0 in requests."""

    opcode: int
    response_code: int = 0
    flags: OpFlag = OpFlag.NONE
    body: bytes = b""
    credential: bytes = b""
    site_serial: int = 0
    recursion: int = 0
    expiration: int = 0

    @classmethod
    def decode(cls, data: bytes) -> Message:
        """The message that is exactly `data`: header, a body of the length it says, a credential (or, at
        the very end, none)."""
        if len(data) < HEADER_SIZE:
            raise WireError(f"a message header is {HEADER_SIZE} bytes, {len(data)} there")
        opcode, code, flags, serial, recursion, _, expiration, body_length = _HEADER.unpack_from(data)
        reader = Reader(data, HEADER_SIZE)
        body = reader.raw(body_length, "message body")
        # The idpointer SDK ends its logins after the body: no credential is what a missing length says.
        credential = reader.bytes_("credential") if reader.remaining else b""
        reader.done()
        return cls(opcode, code, OpFlag(flags), body, credential, serial, recursion, expiration)

    def header(self) -> bytes:
        return _HEADER.pack(
            self.opcode, self.response_code, int(self.flags) & 0xFFFFFFFF, self.site_serial,
            self.recursion, 0, self.expiration & 0xFFFFFFFF, len(self.body),
        )  # fmt: skip

    def signed_part(self) -> bytes:
        """What a digest, a MAC or a signature is of: the header and the body."""
        return self.header() + self.body

    def encode(self) -> bytes:
        return self.signed_part() + _U32.pack(len(self.credential)) + self.credential

    def has(self, flag: OpFlag) -> bool:
        return bool(self.flags & flag)


def digest(signed_part: bytes, version: tuple[int, int]) -> bytes:
    """The request digest an answer in `version` returns: its hash type byte, then the digest (SHA-256 from
    2.7 on, SHA-1 before)."""
    if version >= (2, 7):
        return bytes([HashType.SHA256]) + hashlib.sha256(signed_part).digest()
    return bytes([HashType.SHA1]) + hashlib.sha1(signed_part).digest()


DIGEST_SIZES = {HashType.MD5: 16, HashType.SHA1: 20, HashType.SHA256: 32}


def skip_digest(reader: Reader) -> bytes:
    """Read the request digest an answer starts with (when its RD flag is set); the digest with its type."""
    kind = reader.u8("digest type")
    try:
        size = DIGEST_SIZES[HashType(kind)]
    except ValueError:
        raise WireError(f"unknown request digest type {kind}") from None
    return bytes([kind]) + reader.raw(size, "request digest")


def frame(envelope: Envelope, message: bytes) -> bytes:
    """`message` with its envelope (the envelope's length set to the message's), as TCP and HTTP carry it."""
    return replace(envelope, length=len(message)).encode() + message


def unframe(data: bytes) -> tuple[Envelope, bytes]:
    """The envelope and the whole message of one framed message (TCP, HTTP, a single datagram)."""
    envelope = Envelope.decode(data)
    message = data[ENVELOPE_SIZE:]
    if len(message) != envelope.length:
        raise WireError(f"the envelope says {envelope.length} bytes of message, {len(message)} there")
    return envelope, message
