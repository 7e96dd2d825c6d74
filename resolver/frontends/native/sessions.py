"""Sessions of the native protocol: SESSION_SETUP (400, Diffie–Hellman), SESSION_TERMINATE (401), and the
admission of a request that names a session — its MAC checked with the session key, its counter not seen
before.

The CNRI library sets a session up before its first administrative request, and fails that request when the
setup does; it checks the setup's answer with the node's key (the answer is certified), challenges follow in
the session, and the requests after a successful one carry only a MAC. A session id the node did not give
(the CAICT SDKs number their own connections) on a request with no MAC is no session: such a request is
challenged as any other. A session's messages may come encrypted with its key (`encrypted`: the library
encrypts requests carrying values the public may not read). Only Diffie–Hellman (the library's default) is
offered; the cipher modes are answered 501, and sessions need protocol 2.7 (HMAC-SHA256 MACs), which every
current client speaks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from registry.native_sessions import NativeSession
from sdk.native.codes import ENVELOPE_SIZE, EnvelopeFlag, OpFlag, ResponseCode
from sdk.native.credential import Signature
from sdk.native.message import Envelope, frame
from sdk.native.session import (
    DhPrivate,
    DhPublic,
    KeyExchange,
    SessionSetup,
    SessionSetupAnswer,
    decrypt,
    encrypt,
    mac_verifies,
)  # fmt: skip
from sdk.native.wire import WireError

from ..context import Context
from .request import Request

TIMED_OUT = "invalid session id or session timed out"


# Answers a decrypted request: `Responder.respond` with the plain envelope and message.
Respond = Callable[[Envelope, bytes], "bytes | Awaitable[bytes] | None"]


class SessionDesk:
    def __init__(self, context: Callable[[], Context]) -> None:
        self._context = context

    async def encrypted(self, envelope: Envelope, raw: bytes, respond: Respond) -> bytes:
        """The answer to an encrypted message of a session: decrypted with the session key and answered;
        the answer encrypted too when the request asks for that (ENC)."""
        plain = replace(envelope, flags=envelope.flags & ~EnvelopeFlag.EC)
        session = await self._context().services.native_sessions.get(envelope.session_id, _now())
        if session is None:
            return Request.unreadable(plain).error(ResponseCode.SESSION_TIMEOUT, TIMED_OUT)
        try:
            message = decrypt(session.key, raw)
        except WireError as exc:
            return Request.unreadable(plain).error(exc.code, exc.message)
        reply = respond(replace(plain, length=len(message)), message)
        if reply is None:  # an answer, encrypted: said so, as it cannot be dropped unread like a plain one
            return Request.unreadable(plain).error(ResponseCode.PROTOCOL_ERROR, "an answer is no request")
        answer = reply if isinstance(reply, bytes) else await reply
        flags = int.from_bytes(message[8:12], "big")  # the message decoded: its header is there
        return sealed(answer, session.key) if flags & OpFlag.ENC else answer

    async def setup(self, request: Request) -> bytes:
        try:
            wanted = SessionSetup.decode(request.message.body)
        except WireError as exc:
            return request.error(exc.code, exc.message)
        if request.version < (2, 7):
            return request.error(ResponseCode.SESSION_FAILED, "sessions here need protocol 2.7 or later")
        if wanted.mode != KeyExchange.DH:
            return request.error(
                ResponseCode.SESSION_FAILED,
                f"key exchange mode {wanted.mode} is not offered here: Diffie-Hellman ({KeyExchange.DH}) is",
            )
        try:
            peer = DhPublic.decode(wanted.public_key)
            peer.check()
        except WireError as exc:
            return request.error(ResponseCode.SESSION_FAILED, exc.message)
        # Two modular powers of up to 4096 bits: milliseconds, off the event loop in one hop.
        own, key = await asyncio.to_thread(_agree, peer)
        identity = (wanted.identity, wanted.identity_index)
        sessions = self._context().services.native_sessions
        opened = await sessions.open(key, request.version, identity, lifetime=wanted.timeout, now=_now())
        request.session = opened
        return request.answer(ResponseCode.SUCCESS, SessionSetupAnswer.dh(own.public).encode())

    async def terminate(self, request: Request) -> bytes:
        admitted = await self.admit(request)
        if isinstance(admitted, bytes):
            return admitted
        if admitted is None:
            return request.error(ResponseCode.SESSION_TIMEOUT, TIMED_OUT)
        await self._context().services.native_sessions.close(admitted.id)
        return request.answer(ResponseCode.SUCCESS, b"")

    async def admit(self, request: Request) -> NativeSession | bytes | None:
        """The session `request` is in, its MAC and counter checked; None when it names no session of this
        node and carries no MAC (a client's own numbering); else the error answer."""
        number = request.envelope.session_id
        if number == 0:
            return None
        credential = _mac(request.message.credential)
        sessions = self._context().services.native_sessions
        session = await sessions.get(number, _now())
        if session is None:
            return None if credential is None else request.error(ResponseCode.SESSION_TIMEOUT, TIMED_OUT)
        if credential is None:
            return request.error(ResponseCode.INVALID_CREDENTIAL, "a request in a session carries its MAC")
        if not mac_verifies(session.key, request.envelope, request.signed, credential):
            return request.error(ResponseCode.INVALID_SESSION_KEY, "the session MAC does not match")
        if not await sessions.counted(number, credential.counter):
            return request.error(
                ResponseCode.SESSION_MESSAGE_REJECTED, f"session counter {credential.counter} was seen before"
            )
        return session


def sealed(answer: bytes, key: bytes) -> bytes:
    """`answer` (one framed message, or several: a continued list) encrypted with a session's key — each
    message once: one already encrypted is left as it is."""
    parts, at = [], 0
    while at < len(answer):
        envelope = Envelope.decode(answer[at : at + ENVELOPE_SIZE])
        end = at + ENVELOPE_SIZE + envelope.length
        if envelope.flags & EnvelopeFlag.EC:
            parts.append(answer[at:end])
        else:
            encrypted = replace(envelope, flags=envelope.flags | EnvelopeFlag.EC)
            parts.append(frame(encrypted, encrypt(key, answer[at + ENVELOPE_SIZE : end])))
        at = end
    return b"".join(parts)


def _mac(credential: bytes) -> Signature | None:
    if not credential:
        return None
    try:
        return Signature.decode(credential)
    except WireError:
        return None


def _now() -> int:
    return int(time.time())


def _agree(peer: DhPublic) -> tuple[DhPrivate, bytes]:
    """Our half of a Diffie-Hellman exchange with `peer`, and the key both halves agree on."""
    own = DhPrivate.generate(peer.p, peer.g)
    return own, own.shared_key(peer)
