"""Answering native Handle requests, whatever carried them (UDP, TCP, the HTTP tunnel).

`Responder.respond` takes one request (its envelope and message) and gives the answer's message: at once
when it needs no waiting — a resolution of a handle the in-process cache holds, an error, the site — so that
a datagram is answered in its receive callback without a task; otherwise an awaitable of it. Bad bytes are
answered with the protocol's error codes (4 protocol error, 102 invalid handle, 5 for operations not served
here); only what is not a request at all (an answer sent to a server) is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from registry import Handle, InvalidHandle, RegistryError
from registry.signing import RS256, KeyPair
from sdk.native import bodies
from sdk.native.codes import ENVELOPE_SIZE, HEADER_SIZE, OpCode, OpFlag, ResponseCode
from sdk.native.credential import SHA256, Signature, signed_data
from sdk.native.message import Envelope, Message, digest, frame
from sdk.native.values import Site
from sdk.native.wire import WireError

from ...answer import Answer
from ...pipeline import NotHomed, StoreUnavailable
from ...query import Query
from ...signing import SigningUnavailable
from ..context import Context
from ..handle_rest.codes import status_of
from .render import NATIVE_VALUES, encoded

log = logging.getLogger("idnode.native")

# Answers expire 12 hours after they are made: clients refuse expired answers, and this is what the
# reference server gives.
EXPIRY = 12 * 3600
# The flags an answer repeats from its request.
_ECHOED = OpFlag.RD | OpFlag.KA | OpFlag.PO

Answering = bytes | Awaitable[bytes]
Reply = Answering | None


class Request:
    """A decoded request and what its answer needs from it: its envelope, the version to answer in, the
    bytes its digest is of (as they came, not as re-encoded), and the key to sign the answer with when it
    asked for a certified one (CT) and the node can sign one."""

    __slots__ = ("envelope", "key", "message", "signed", "version")

    def __init__(self, message: Message, signed: bytes, envelope: Envelope) -> None:
        self.message = message
        self.signed = signed
        self.envelope = envelope
        self.version = envelope.wanted
        self.key: KeyPair | None = None

    @classmethod
    def unreadable(cls, envelope: Envelope, opcode: int = 0) -> Request:
        """A request too broken to decode, to be answered with an error for `opcode`."""
        return cls(Message(opcode), b"", envelope)

    def answer(self, code: int, body: bytes, flags: OpFlag = OpFlag.NONE) -> bytes:
        """The answer's message: `body` after the request's digest when it asked for one, signed when it
        asked for that."""
        request = self.message
        if request.flags & OpFlag.RD:
            body = digest(self.signed, self.version) + body
        echoed = (request.flags & _ECHOED) | flags | OpFlag.AT
        expires = int(time.time()) + EXPIRY
        answer = Message(request.opcode, code, echoed, body, expiration=expires)
        return (answer if self.key is None else self._signed(answer, self.key)).encode()

    def _signed(self, answer: Message, key: KeyPair) -> Message:
        """`answer` with the node's signature, as the envelope the listener frames it with will read."""
        certified = replace(answer, flags=answer.flags | OpFlag.CT)
        data = signed_data(self.envelope.answer(0, self.version), certified)
        credential = Signature(SHA256, key.sign(data)).encode()
        return replace(certified, credential=credential)

    def error(self, code: int, message: str) -> bytes:
        return self.answer(code, bodies.error_body(message))


# Handles asked for lately, parsed (as the REST lane keeps them): the hot set is asked for again and again.
_PARSED: dict[str, Handle] = {}
_PARSED_MAX = 16_384


def parse_handle(text: str) -> Handle:
    handle = _PARSED.get(text)
    if handle is None:
        handle = Handle.parse(text)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[text] = handle
    return handle


class Responder:
    """The native front end's logic: one instance per node process, shared by its listeners."""

    def __init__(self, context: Callable[[], Context], site: Callable[[], Site]) -> None:
        self._context = context
        self._site = site

    def respond(self, envelope: Envelope, raw: bytes) -> Reply:
        """The answer to the request `raw` framed by `envelope` (see the module's description)."""
        try:
            message = Message.decode(raw)
        except WireError as exc:
            return _unreadable(raw, envelope, exc)
        if message.response_code != ResponseCode.RESERVED:
            return None  # an answer, not a request: nothing to say to it
        request = Request(message, raw[: HEADER_SIZE + len(message.body)], envelope)
        if message.flags & OpFlag.CT:
            return self._certified(request)
        return self._dispatch(request)

    async def _certified(self, request: Request) -> bytes:
        """The answer, signed with the node's key — when it is one Handle clients check (RSA, SHA256withRSA);
        unsigned and not flagged certified otherwise, as the protocol says a server that cannot sign does."""
        try:
            key = (await self._context().signer.current()).key
        except SigningUnavailable:
            key = None
        if key is not None and key.alg == RS256:
            request.key = key
        reply = self._dispatch(request)
        return reply if isinstance(reply, bytes) else await reply

    def _dispatch(self, request: Request) -> Answering:
        message = request.message
        if message.opcode == OpCode.RESOLUTION:
            return self._resolution(request)
        if message.opcode == OpCode.GET_SITE_INFO:
            return request.answer(ResponseCode.SUCCESS, bodies.site_body(self._site()))
        return request.error(
            ResponseCode.OPERATION_NOT_SUPPORTED, f"operation {message.opcode} not supported"
        )

    def _resolution(self, request: Request) -> Answering:
        try:
            wanted = bodies.ResolutionRequest.decode(request.message.body)
            handle = parse_handle(wanted.handle)
        except WireError as exc:
            return request.error(exc.code, exc.message)
        except InvalidHandle as exc:
            return request.error(ResponseCode.INVALID_HANDLE, exc.message)
        context = self._context()
        query = Query(handle, context.naming, indexes=wanted.indexes, types=wanted.types)
        answer = context.pipeline.ready(query)
        if answer is not None:
            return _found(request, wanted.handle, answer, query)
        return self._resolve(request, wanted.handle, query, context)

    async def _resolve(self, request: Request, requested: str, query: Query, context: Context) -> bytes:
        try:
            answer = await context.pipeline.resolve(query)
        except NotHomed:
            return request.error(
                ResponseCode.SERVER_NOT_RESP, "this server is not responsible for the handle"
            )
        except StoreUnavailable as exc:
            return request.error(ResponseCode.SERVER_TOO_BUSY, str(exc))
        except RegistryError as exc:
            return request.error(status_of(exc)[1], exc.message)
        except Exception:  # a bug: still an answer in the protocol's terms, and a trace in the log
            log.exception("resolving %s failed", query.key)
            return request.error(ResponseCode.ERROR, "internal error")
        if answer is None:
            return request.error(ResponseCode.HANDLE_NOT_FOUND, "handle not found")
        return _found(request, requested, answer, query)


def _found(request: Request, requested: str, answer: Answer, query: Query) -> bytes:
    try:
        if not query.filtered:
            values = answer.rendered(NATIVE_VALUES)
        else:
            selected = answer.select(query)
            if not selected:
                return request.error(
                    ResponseCode.VALUES_NOT_FOUND, "no values of the indexes or types asked for"
                )
            values = encoded(selected)
    except WireError as exc:  # a stored value that cannot be encoded: the record is at fault, not the caller
        log.error("encoding %s failed: %s", query.key, exc.message)
        return request.error(ResponseCode.ERROR, "a value of the handle cannot be encoded")
    return request.answer(ResponseCode.SUCCESS, bodies.resolution_body(requested.encode(), values))


def _unreadable(raw: bytes, envelope: Envelope, exc: WireError) -> bytes:
    """The answer to a message that cannot be decoded: a protocol error, for the opcode its header names
    when there is a header (the reference server answers such with opcode 0)."""
    opcode = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else 0
    return Request.unreadable(envelope, opcode).error(exc.code, exc.message)


def refusal(head: bytes, exc: WireError) -> bytes:
    """The framed protocol-error answer to a message that cannot be read past its envelope (`head`): a length
    over the limit, or less than an envelope (answered with request id 0)."""
    envelope = Envelope.decode(head[:16] + bytes(4)) if len(head) >= ENVELOPE_SIZE else Envelope()
    message = Request.unreadable(envelope).error(exc.code, exc.message)
    return frame(envelope.answer(len(message), envelope.wanted), message)
