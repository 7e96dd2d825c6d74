"""One native request as the front end answers it: the decoded message, the envelope that framed it, and
what its answer takes from them — the version, the digest, the ids, the signature when it asked for one."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from registry.signing import KeyPair
from sdk.native import bodies
from sdk.native.codes import ENVELOPE_SIZE, OpFlag
from sdk.native.credential import SHA256, Signature, signed_data
from sdk.native.message import Envelope, Message, digest, frame
from sdk.native.wire import WireError

if TYPE_CHECKING:
    from .logins import Connection

# Answers expire 12 hours after they are made: clients refuse expired answers, and this is what the
# reference server gives.
EXPIRY = 12 * 3600
# The flags an answer repeats from its request.
_ECHOED = OpFlag.RD | OpFlag.KA | OpFlag.PO


class Request:
    """A decoded request: its message, the bytes its digest is of (header and body as they came, not as
    re-encoded), its envelope, and the key to sign the answer with when it asked for a certified answer
    (CT) and the node can sign one. `session` is the session id its answer carries (a challenge's own)."""

    __slots__ = (
        "connection", "envelope", "key", "message", "session", "signed", "source", "streams", "version",
    )  # fmt: skip

    def __init__(
        self,
        message: Message,
        signed: bytes,
        envelope: Envelope,
        source: str = "",
        connection: Connection | None = None,
        streams: bool = False,
    ) -> None:
        self.message = message
        self.connection = connection  # the TCP connection's state; None over UDP and HTTP
        # Whether an answer may be several messages (continued: TCP and HTTP) rather than one (UDP).
        self.streams = streams or connection is not None
        self.signed = signed
        self.envelope = envelope
        self.version = envelope.wanted
        self.source = source
        self.session = envelope.session_id
        self.key: KeyPair | None = None

    @classmethod
    def unreadable(cls, envelope: Envelope, opcode: int = 0) -> Request:
        """A request too broken to decode, to be answered with an error for `opcode`."""
        return cls(Message(opcode), b"", envelope)

    def answer(self, code: int, body: bytes, flags: OpFlag = OpFlag.NONE) -> bytes:
        """The framed answer: `body` after the request's digest when it asked for one (or `flags` does),
        signed when it asked for that."""
        request = self.message
        if (request.flags | flags) & OpFlag.RD:
            body = self.digest() + body
        echoed = (request.flags & _ECHOED) | flags | OpFlag.AT
        expires = int(time.time()) + EXPIRY
        answer = Message(request.opcode, code, echoed, body, expiration=expires)
        envelope = replace(self.envelope.answer(0, self.version), session_id=self.session)
        if self.key is not None:
            answer = _signed(answer, envelope, self.key)
        return frame(envelope, answer.encode())

    def digest(self) -> bytes:
        """The request's digest, with its type byte, in the algorithm of the answer's version."""
        return digest(self.signed, self.version)

    def error(self, code: int, message: str) -> bytes:
        return self.answer(code, bodies.error_body(message))


def _signed(answer: Message, envelope: Envelope, key: KeyPair) -> Message:
    """`answer` with the node's signature, over what `envelope` frames it with."""
    certified = replace(answer, flags=answer.flags | OpFlag.CT)
    credential = Signature(SHA256, key.sign(signed_data(envelope, certified))).encode()
    return replace(certified, credential=credential)


def refusal(head: bytes, exc: WireError) -> bytes:
    """The framed protocol-error answer to a message that cannot be read past its envelope (`head`): a length
    over the limit, or less than an envelope (answered with request id 0)."""
    envelope = Envelope.decode(head[:16] + bytes(4)) if len(head) >= ENVELOPE_SIZE else Envelope()
    return Request.unreadable(envelope).error(exc.code, exc.message)
