"""Answering native Handle requests, whatever carried them (UDP, TCP, the HTTP tunnel).

`Responder.respond` takes one request (its envelope and message) and gives the framed answer: at once
when it needs no waiting — a resolution of a handle the in-process cache holds, an error, the site — so that
a datagram is answered in its receive callback without a task; otherwise an awaitable of it. Bad bytes are
answered with the protocol's error codes (4 protocol error, 102 invalid handle, 5 for operations not served
here); only what is not a request at all (an answer sent to a server) is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from time import perf_counter

from registry import Handle, InvalidHandle, RegistryError
from registry.signing import RS256
from sdk.native import bodies
from sdk.native.codes import HEADER_SIZE, EnvelopeFlag, OpCode, OpFlag, ResponseCode
from sdk.native.message import Envelope, Message
from sdk.native.values import Site
from sdk.native.wire import WireError

from ...answer import Answer
from ...pipeline import NotHomed, RecursionLimit, Referral, StoreUnavailable
from ...query import DEFAULT_BUDGET, Query
from ...signing import SigningUnavailable
from ..context import Context
from ..handle_rest.codes import status_of
from .admin import ADMIN_OPCODES, CHALLENGED_OPCODES, Administration
from .logins import Connection, password_login
from .reading import restricted
from .render import NATIVE_VALUES, encoded
from .request import Request
from .sessions import SessionDesk

log = logging.getLogger("idnode.native")

Answering = bytes | Awaitable[bytes]
Reply = Answering | None


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
        self._sessions = SessionDesk(context)
        self._admin = Administration(context, self._sessions)

    def respond(
        self,
        envelope: Envelope,
        raw: bytes,
        source: str = "",
        connection: Connection | None = None,
        *,
        streams: bool = False,
    ) -> Reply:
        """The answer to the request `raw` framed by `envelope` (see the module's description); `connection`
        is the state of the TCP connection it came on; `streams`, whether the answer may be several
        messages (over HTTP; TCP always may)."""
        if envelope.flags & EnvelopeFlag.EC:
            return self._sessions.encrypted(
                envelope, raw, lambda e, m: self.respond(e, m, source, connection, streams=streams)
            )
        try:
            message = Message.decode(raw)
        except WireError as exc:
            return _unreadable(raw, envelope, exc)
        if message.response_code != ResponseCode.RESERVED:
            return None  # an answer, not a request: nothing to say to it
        signed = raw[: HEADER_SIZE + len(message.body)]
        request = Request(message, signed, envelope, source, connection, streams)
        reply = self._certified(request) if message.flags & OpFlag.CT else self._dispatch(request)
        return reply if isinstance(reply, bytes) else _guarded(request, reply)

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
        if message.opcode in ADMIN_OPCODES or message.opcode in CHALLENGED_OPCODES:
            return self._admin.handle(request)
        if message.opcode == OpCode.CAICT_LOGIN_PASSWORD:
            return password_login(self._context(), request)
        if message.opcode == OpCode.SESSION_SETUP:
            return self._sessions.setup(request)
        if message.opcode == OpCode.SESSION_TERMINATE:
            return self._sessions.terminate(request)
        if message.opcode == OpCode.SESSION_EXCHANGEKEY:
            return request.error(
                ResponseCode.SESSION_FAILED, "no session here exchanges its key with the server's cipher"
            )
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
        message = request.message
        query = Query(
            handle, context.naming, indexes=wanted.indexes, types=wanted.types,
            recurse=message.has(OpFlag.REC), budget=DEFAULT_BUDGET - message.recursion,
        )  # fmt: skip
        answer = context.pipeline.ready(query)
        if answer is not None:
            context.stats.seen(handle.prefix, request.source, True, 0.0)  # answered from memory at once
            return self._found(request, wanted.handle, answer, query)
        return self._resolve(request, wanted.handle, query, context)

    async def _resolve(self, request: Request, requested: str, query: Query, context: Context) -> bytes:
        started = perf_counter()
        try:
            answer = await context.pipeline.resolve(query)
        except Referral as referral:
            return _referral(request, requested, referral)
        except RecursionLimit as exc:
            return request.error(ResponseCode.RECURSION_COUNT_TOO_HIGH, exc.message)
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
        context.stats.seen(query.handle.prefix, request.source, answer is not None, perf_counter() - started)
        if answer is None:
            return request.error(ResponseCode.HANDLE_NOT_FOUND, "handle not found")
        found = self._found(request, requested, answer, query)
        return found if isinstance(found, bytes) else await found

    def _found(self, request: Request, requested: str, answer: Answer, query: Query) -> Answering:
        if not request.message.has(OpFlag.PO) and restricted(answer):
            return self._admin.handle(request)  # who asks decides what it is shown
        return _public(request, requested, answer, query)


def _referral(request: Request, requested: str, referral: Referral) -> bytes:
    """A referral as the Handle.Net server sends one: the handle, and the HS_SITE values of where to ask."""
    code = ResponseCode.PREFIX_REFERRAL if referral.derived else ResponseCode.SERVICE_REFERRAL
    values = referral.site.rendered(NATIVE_VALUES)
    return request.answer(code, bodies.resolution_body(requested.encode(), values))


def _public(request: Request, requested: str, answer: Answer, query: Query) -> bytes:
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


async def _guarded(request: Request, answering: Awaitable[bytes]) -> bytes:
    """The answer; should making it fail (a bug), an error answer rather than silence, and a trace in the
    log."""
    try:
        return await answering
    except Exception:
        log.exception("answering opcode %d failed", request.message.opcode)
        return request.error(ResponseCode.ERROR, "internal error")
