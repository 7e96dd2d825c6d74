"""`AsyncNativeClient`: resolution, site information and administration over the native Handle protocol, on
UDP or on one kept TCP connection; `NativeClient` is the same for programs without an event loop.

Every request sets RD, and an answer counts only when it returns the digest of the request as it was sent
(`message.digest`, in the version the answer is in). Over UDP a request goes out in one datagram (or split,
`udp.datagrams`) and is sent again after `timeout` seconds, `retries` times; an answer split over several
datagrams is put back together (`udp.Reassembly`), and one flagged truncated that does not come together in
time, or too long for datagrams, is asked for again over TCP. Over TCP the connection carries KA and any
number of requests at once, answers matched to requests by their request id.

Errors are the SDK's: a response code becomes the class that fits (100 `NotFoundError`, 102
`InvalidHandleError`, 2 and 3 `ServiceUnavailable`, …; anything else `RequestError`), with the response code
in `code` and the server's message; a server out of reach is a `TransportError`, and an answer the protocol
does not allow (a wrong digest among them) a `ProtocolError`.

Administration (`create`, `mint`, `delete`, `add_values`, `remove_values`, `modify_values`, `list_handles`)
needs `auth=` (`keys.SecretKey` or `keys.PrivateKey`) and goes over TCP, whatever `transport` says, on the
kept connection. The server answers such a request 402 with a nonce, the request's digest and a session id
of its own; the client answers in that session (CHALLENGE_RESPONSE) with a proof over nonce‖digest — only
after checking that the digest is of the request it sent, or it would prove whatever someone else asked —
and gets the original request's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar, cast

from .. import _errors as errors
from .._models import HandleValue, Record
from . import auth, bodies, udp
from . import session as sessions
from .codes import ENVELOPE_SIZE, EnvelopeFlag, OpCode, OpFlag, ResponseCode
from .credential import signed_by
from .keys import Credential, PrivateKey, SecretKey, identity, jwk_bytes
from .message import Envelope, Message, digest, frame, negotiated, skip_digest
from .values import Site, Value, from_json, to_json
from .wire import Reader, WireError

# How long a request stays valid. The reference client gives every message twelve hours: a resolution is
# harmless to replay, and a wide window keeps a client whose clock is off from being refused. Signed
# requests, when they come, may want less.
EXPIRY = 12 * 3600
# An answer longer than this is asked for over TCP rather than put together from datagrams: past some 130 of
# them, one lost datagram costs the whole answer again, where TCP resends only what was lost.
UDP_MAX_ANSWER = 64 * 1024

Transport = Literal["udp", "tcp"]
T = TypeVar("T")
Answer = tuple[Envelope, bytes]
# What administration takes as values: the HTTP client's (`HandleValue`s, or type → text, indexed 1, 2, … in
# order), or values already in the protocol's form.
Values = Mapping[str, str] | Sequence[HandleValue | Value]


class ProtocolError(errors.SdkError):
    """The server answered with something the native protocol does not allow."""


# The SDK's error for a response code, as the HTTP client maps the same codes; the rest are `RequestError`.
_ERRORS: dict[int, type[errors.SdkError]] = {
    ResponseCode.ERROR: errors.ServiceUnavailable,
    ResponseCode.SERVER_TOO_BUSY: errors.ServiceUnavailable,
    ResponseCode.SERVER_BACKUP: errors.ServiceUnavailable,
    ResponseCode.HANDLE_NOT_FOUND: errors.NotFoundError,
    ResponseCode.HANDLE_ALREADY_EXISTS: errors.ConflictError,
    ResponseCode.VALUE_ALREADY_EXISTS: errors.ConflictError,
    ResponseCode.INVALID_HANDLE: errors.InvalidHandleError,
    ResponseCode.INVALID_VALUE: errors.ValidationError,
    ResponseCode.INVALID_ADMIN: errors.ForbiddenError,
    ResponseCode.INSUFFICIENT_PERMISSIONS: errors.ForbiddenError,
    **dict.fromkeys(range(402, 407), errors.AuthenticationError),
}


class _Closed(Exception):
    """The server closed the TCP connection before it answered."""


def _new_id(taken: Collection[int]) -> int:
    """A random request id, never 0 and not one still waiting for its answer."""
    while (request_id := secrets.randbits(32)) == 0 or request_id in taken:
        pass
    return request_id


class AsyncNativeClient:
    """A client of one Handle server over the native protocol (RFC 3651/3652), for asyncio programs.

    `transport` is `udp` (falling back to TCP for answers too long for datagrams) or `tcp` (one connection,
    kept open and shared by concurrent calls, opened again if the server closed it). `timeout` is how long
    an answer is waited for, per attempt; `retries` how many times a UDP request is sent again without one.
    `auth` is who administration is done as; with `session=True` the client sets up a session (Diffie–Hellman,
    opcode 400) before its first administrative request, is challenged once in it, and sends the requests
    after with the session's MAC instead of being challenged again. Use it as an async context manager, or
    call `aclose()`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transport: Transport = "udp",
        timeout: float = 5.0,
        retries: int = 2,
        auth: Credential | None = None,
        session: bool = False,
    ) -> None:
        if transport not in ("udp", "tcp"):
            raise ValueError(f"transport is udp or tcp, not {transport!r}")
        if auth is not None and not isinstance(auth, SecretKey | PrivateKey):
            raise TypeError("auth is a SecretKey or a PrivateKey")
        self.host, self.port = host, port
        self._auth = auth
        self._transport = transport
        self._timeout = timeout
        self._retries = max(0, retries)
        self._opening = asyncio.Lock()
        self._datagrams: _Datagrams | None = None
        self._connection: _Connection | None = None
        self._use_session = session
        self._session: sessions.ClientSession | None = None
        self._session_opening = asyncio.Lock()

    async def resolve(
        self,
        handle: str,
        *,
        indexes: Sequence[int] = (),
        types: Sequence[str] = (),
        public_only: bool = False,
        authoritative: bool = False,
        recursive: bool = True,
    ) -> Record:
        """The values of `handle` (those at `indexes` or of `types`; all when both are empty) as the HTTP
        client's `Record`; `NotFoundError` when there is no such handle. Without `auth` (or with
        `public_only`) the public values; with it, what the administrator may read — the server challenges
        a resolution of values the public may not read, and the client answers it as for a write.
        `recursive` (the Handle System's default) lets the server resolve a handle living at another node
        there; without it, the server answers with a referral (`RequestError`, code 302 or 303)."""
        public_only = public_only or self._auth is None
        flags = (OpFlag.PO if public_only else OpFlag.NONE) | (OpFlag.AT if authoritative else OpFlag.NONE)
        flags |= OpFlag.REC if recursive else OpFlag.NONE
        body = bodies.ResolutionRequest(handle, tuple(indexes), tuple(types)).encode()
        if public_only:
            answer = await self._call(self._request(OpCode.RESOLUTION, body, flags))
        else:
            answer = await self._administer(OpCode.RESOLUTION, body, flags)
        _raise_for(answer, handle)
        resolution = _decoded(bodies.read_resolution, answer)
        return Record.from_json(handle, [to_json(value) for value in resolution.values])

    async def site_info(self) -> Site:
        """The server's site information (GET_SITE_INFO): its servers, their interfaces and keys."""
        answer = await self._call(self._request(OpCode.GET_SITE_INFO, b""))
        _raise_for(answer, None)
        return _decoded(bodies.read_site, answer)

    # -- administration -----------------------------------------------------------------------------------

    async def create(self, handle: str, values: Values, *, overwrite: bool = False) -> None:
        """CREATE_HANDLE: `handle` with `values`; `ConflictError` if it exists, unless `overwrite` (then its
        values are replaced)."""
        body = bodies.ValuesRequest(handle, _binary(values, handle)).encode()
        flags = OpFlag.OVRW if overwrite else OpFlag.NONE
        _raise_for(await self._administer(OpCode.CREATE_HANDLE, body, flags), handle)

    async def mint(self, prefix: str, values: Values, stem: str = "") -> str:
        """CREATE_HANDLE with MINT: a new handle under `prefix`, its suffix `stem` and what the server
        chooses; the handle made."""
        handle = f"{prefix}/{stem}"
        body = bodies.ValuesRequest(handle, _binary(values, handle)).encode()
        answer = await self._administer(OpCode.CREATE_HANDLE, body, OpFlag.MINT)
        _raise_for(answer, handle)
        return _decoded(lambda m: bodies.HandleRequest.decode(_after_digest(m)).handle, answer)

    async def delete(self, handle: str) -> None:
        """DELETE_HANDLE: `NotFoundError` when there is no such handle."""
        body = bodies.HandleRequest(handle).encode()
        _raise_for(await self._administer(OpCode.DELETE_HANDLE, body), handle)

    async def add_values(self, handle: str, values: Values, *, overwrite: bool = False) -> None:
        """ADD_VALUE: `values` added to `handle`; `ConflictError` when one's index is taken, unless
        `overwrite` (then it replaces the value there)."""
        body = bodies.ValuesRequest(handle, _binary(values, handle)).encode()
        flags = OpFlag.OVRW if overwrite else OpFlag.NONE
        _raise_for(await self._administer(OpCode.ADD_VALUE, body, flags), handle)

    async def remove_values(self, handle: str, indexes: Sequence[int]) -> None:
        """REMOVE_VALUE: the values of `handle` at `indexes`."""
        body = bodies.IndexesRequest(handle, tuple(indexes)).encode()
        _raise_for(await self._administer(OpCode.REMOVE_VALUE, body), handle)

    async def modify_values(self, handle: str, values: Values) -> None:
        """MODIFY_VALUE: the values of `handle` at the indexes of `values` replaced by them (each must
        exist: `RequestError` 200 otherwise)."""
        body = bodies.ValuesRequest(handle, _binary(values, handle)).encode()
        _raise_for(await self._administer(OpCode.MODIFY_VALUE, body), handle)

    async def list_handles(self, prefix: str) -> list[str]:
        """LIST_HANDLES: the handles under `prefix` (`88.118.8`, or its prefix handle `0.NA/88.118.8`)."""
        handle = prefix if prefix.upper().startswith("0.NA/") else f"0.NA/{prefix}"
        body = bodies.HandleRequest(handle).encode()
        continued: list[bytes] = []  # a long list comes in several messages, all but the last flagged CN
        answer = await self._administer(OpCode.LIST_HANDLES, body, continued=continued)
        _raise_for(answer, handle)
        listed = [name for part in continued for name in _continued_handles(part)]
        return listed + _decoded(bodies.read_handles, answer)

    async def _administer(
        self,
        opcode: OpCode,
        body: bytes,
        flags: OpFlag = OpFlag.NONE,
        *,
        continued: list[bytes] | None = None,
    ) -> Message:
        """The answer to an administrative request, over TCP, its challenge answered; whatever its code."""
        if self._auth is None:
            raise errors.AuthenticationError("administration needs auth=SecretKey(…) or PrivateKey(…)")
        request = self._request(opcode, body, flags | OpFlag.KA)
        session = await self._in_session()
        envelope, raw = await self._exchange_tcp(request, session=session, continued=continued)
        challenge = self._checked(request, envelope, raw)  # the digest, if any, is of `request`
        if session is not None and challenge.response_code == ResponseCode.SESSION_TIMEOUT:
            self._session = None  # the server forgot it (expired, restarted): once more in a new one
            session = await self._in_session()
            envelope, raw = await self._exchange_tcp(request, session=session, continued=continued)
            challenge = self._checked(request, envelope, raw)
        if challenge.response_code != ResponseCode.AUTHENTICATION_NEEDED:
            return challenge  # an error before any challenge (or a server that did not ask)
        if not challenge.has(OpFlag.RD):
            raise ProtocolError("a challenge without the request's digest: it cannot be told what to prove")
        try:
            reader = Reader(challenge.body)
            request_digest = skip_digest(reader)[1:]  # `_checked` found it to be that of `request`
            nonce = auth.Challenge.decode(reader).nonce
        except WireError as exc:
            raise ProtocolError(f"a malformed challenge: {exc.message}") from None
        version = negotiated(envelope.major, envelope.minor)
        try:
            proof = self._auth.answer(nonce, request_digest, version)
        except (ValueError, TypeError) as exc:
            raise errors.AuthenticationError(f"cannot answer the challenge: {exc}") from None
        response = self._request(OpCode.CHALLENGE_RESPONSE, proof.encode(), OpFlag.KA)
        envelope, raw = await self._exchange_tcp(response, envelope.session_id, session, continued=continued)
        # The result of `request`, or a refusal of the answer itself (no challenge waiting in the session).
        return self._checked(request, envelope, raw, also=response)

    async def _in_session(self) -> sessions.ClientSession | None:
        """The session administration is done in (set up now if there is none yet); None without sessions."""
        if not self._use_session:
            return None
        async with self._session_opening:
            if self._session is None:
                self._session = await self._set_up_session()
            return self._session

    async def _set_up_session(self) -> sessions.ClientSession:
        assert self._auth is not None
        own = await asyncio.to_thread(sessions.DhPrivate.generate, sessions.MODP_2048, 2)
        handle, index = identity(self._auth.identity)
        setup = sessions.SessionSetup(
            sessions.KeyExchange.DH, sessions.DEFAULT_TIMEOUT, handle, index, own.public.encode()
        )
        servers = (await self.site_info()).servers
        request = self._request(OpCode.SESSION_SETUP, setup.encode(), OpFlag.KA | OpFlag.CT)
        envelope, raw = await self._exchange_tcp(request)
        answer = self._checked(request, envelope, raw)
        if answer.response_code != ResponseCode.SUCCESS:
            _raise_for(answer, None)
        # The key is shared with whoever signed the answer: it must be the server the site names.
        if not any(signed_by(server.public_key, envelope, answer) for server in servers):
            raise ProtocolError("the session setup's answer is not signed with the key of the server's site")
        try:
            reader = Reader(answer.body)
            skip_digest(reader)
            peer = sessions.SessionSetupAnswer.decode(reader).dh_public()
            key = await asyncio.to_thread(own.shared_key, peer)
        except WireError as exc:
            raise ProtocolError(f"a malformed session setup answer: {exc.message}") from None
        return sessions.ClientSession(envelope.session_id, key)

    def _request(self, opcode: OpCode, body: bytes, flags: OpFlag = OpFlag.NONE) -> Message:
        expiration = int(time.time()) + EXPIRY
        return Message(opcode, flags=flags | OpFlag.RD, body=body, expiration=expiration)

    async def _call(self, request: Message) -> Message:
        """The answer to `request`, its digest checked, whatever its response code."""
        if self._transport == "tcp":
            return await self._over_tcp(request)
        return await self._over_udp(request)

    # -- UDP ----------------------------------------------------------------------------------------------

    async def _over_udp(self, request: Message) -> Message:
        datagrams = await self._udp()
        request_id = _new_id(datagrams.waiting)
        sent = udp.datagrams(Envelope(request_id=request_id), request.encode())
        waiter = datagrams.waiting[request_id] = _Waiter(asyncio.get_running_loop().create_future())
        try:
            for _ in range(self._retries + 1):
                datagrams.send(sent)
                try:
                    answer = await asyncio.wait_for(asyncio.shield(waiter.answer), self._timeout)
                except TimeoutError:
                    if waiter.truncated:  # the rest of a split answer is lost: TCP has all of it
                        break
                    continue
                if answer is None:  # longer than datagrams should carry
                    break
                return self._checked(request, *answer)
            else:
                raise errors.TransportError(f"no answer from {self.host}:{self.port} over UDP")
        finally:
            del datagrams.waiting[request_id]
            if not waiter.answer.done():
                waiter.answer.cancel()
        return await self._over_tcp(request)

    async def _udp(self) -> _Datagrams:
        async with self._opening:
            if self._datagrams is None or self._datagrams.lost:
                loop = asyncio.get_running_loop()
                try:
                    _, self._datagrams = await loop.create_datagram_endpoint(
                        lambda: _Datagrams(self._timeout), remote_addr=(self.host, self.port)
                    )
                except OSError as exc:
                    raise errors.TransportError(f"cannot reach {self.host}:{self.port}: {exc}") from exc
            return self._datagrams

    # -- TCP ----------------------------------------------------------------------------------------------

    async def _over_tcp(self, request: Message) -> Message:
        request = replace(request, flags=request.flags | OpFlag.KA)
        envelope, answer = await self._exchange_tcp(request)
        return self._checked(request, envelope, answer)

    async def _exchange_tcp(
        self,
        request: Message,
        session_id: int = 0,
        session: sessions.ClientSession | None = None,
        *,
        continued: list[bytes] | None = None,
    ) -> Answer:
        """The envelope and raw message answering `request` (sent in `session_id`, or in `session` with its
        MAC) over the kept TCP connection; sent once more, on a new connection, if the server closed the old
        one unanswered."""
        if session is not None:
            session_id = session_id or session.id
        for attempt in (1, 2):
            connection = await self._tcp()
            message = request.encode() if session is None else session.sealed(request)
            try:
                async with asyncio.timeout(self._timeout):
                    return await connection.ask(message, session_id, continued)
            except _Closed:
                if attempt == 2:
                    raise errors.TransportError(
                        f"{self.host}:{self.port} closed the connection without answering"
                    ) from None
                continue  # closed by the server (idle, restarted): once more on a new connection
            except TimeoutError:
                raise errors.TransportError(f"no answer from {self.host}:{self.port} over TCP") from None
        raise AssertionError("unreachable")

    async def _tcp(self) -> _Connection:
        async with self._opening:
            if self._connection is None or self._connection.closed:
                try:
                    async with asyncio.timeout(self._timeout):
                        reader, writer = await asyncio.open_connection(self.host, self.port)
                except (OSError, TimeoutError) as exc:
                    raise errors.TransportError(f"cannot reach {self.host}:{self.port}: {exc!r}") from exc
                self._connection = _Connection(reader, writer)
            return self._connection

    # -- answers ------------------------------------------------------------------------------------------

    def _checked(
        self, request: Message, envelope: Envelope, raw: bytes, *, also: Message | None = None
    ) -> Message:
        """The answer in `raw` to `request` (as sent) — or to `also`, when its opcode is that one's —, if the
        protocol allows it as one."""
        if envelope.flags & (EnvelopeFlag.CP | EnvelopeFlag.EC):
            raise ProtocolError("a compressed or encrypted answer, which this client does not ask for")
        try:
            answer = Message.decode(raw)
        except WireError as exc:
            raise ProtocolError(f"a malformed answer: {exc.message}") from None
        if also is not None and answer.opcode == also.opcode:
            request = also
        if answer.opcode != request.opcode:
            raise ProtocolError(f"an answer of opcode {answer.opcode} to a request of {request.opcode}")
        if answer.expiration < time.time():
            raise ProtocolError(f"an answer that expired at {answer.expiration}")
        if not answer.has(OpFlag.RD):
            if answer.response_code == ResponseCode.SUCCESS:
                raise ProtocolError("an answer without the request's digest, which the request asked for")
            return answer  # a failure: what it says matters more than the missing digest
        expected = digest(request.signed_part(), negotiated(envelope.major, envelope.minor))
        returned = _decoded(lambda m: skip_digest(Reader(m.body)), answer)
        if returned != expected:
            raise ProtocolError("the answer's request digest is not that of the request sent")
        return answer

    async def aclose(self) -> None:
        if self._datagrams is not None:
            await self._datagrams.close()
            self._datagrams = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def __aenter__(self) -> AsyncNativeClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def _binary(values: Values, handle: str) -> tuple[Value, ...]:
    """`values` in the protocol's form (`ValidationError` if one has none: a format without binary form)."""
    if isinstance(values, Mapping):
        values = [HandleValue(n, kind, text) for n, (kind, text) in enumerate(values.items(), start=1)]
    out = []
    for value in values:
        if isinstance(value, Value):
            out.append(value)
            continue
        obj = {**value.to_json(), "ttl": value.ttl}
        try:
            out.append(from_json(obj, keys=jwk_bytes))
        except WireError as exc:
            raise errors.ValidationError(f"value {value.index}: {exc.message}", handle=handle) from None
    return tuple(out)


def _after_digest(answer: Message) -> bytes:
    """An answer's body past the request digest it starts with (when RD is set)."""
    if not answer.has(OpFlag.RD):
        return answer.body
    reader = Reader(answer.body)
    skip_digest(reader)
    return answer.body[reader.pos :]


def _decoded(read: Callable[[Message], T], answer: Message) -> T:
    try:
        return read(answer)
    except WireError as exc:
        raise ProtocolError(f"a malformed answer: {exc.message}") from None


def _raise_for(answer: Message, handle: str | None) -> None:
    code = answer.response_code
    if code == ResponseCode.SUCCESS:
        return
    try:
        said = bodies.read_error(answer)
    except WireError:
        said = ""  # a referral's body, or a broken one: the code says enough
    try:
        name = ResponseCode(code).name
    except ValueError:
        name = "an unknown response code"
    message = f"{said or name} (response code {code})"
    raise _ERRORS.get(code, errors.RequestError)(message, handle=handle, code=code)


def _is_continued(message: bytes) -> bool:
    return len(message) >= 12 and bool(int.from_bytes(message[8:12], "big") & OpFlag.CN)


def _continued_handles(part: bytes) -> list[str]:
    """The names of one continued LIST_HANDLES message (`ProtocolError` unless it is a successful one)."""
    try:
        message = Message.decode(part)
    except WireError as exc:
        raise ProtocolError(f"a malformed answer: {exc.message}") from None
    if message.opcode != OpCode.LIST_HANDLES or message.response_code != ResponseCode.SUCCESS:
        raise ProtocolError("a continued answer that is not a list of handles")
    return _decoded(bodies.read_handles, message)


@dataclass(slots=True)
class _Waiter:
    """A UDP request waiting: its answer (None: ask over TCP), and whether a datagram of it was truncated."""

    answer: asyncio.Future[Answer | None]
    truncated: bool = False


@dataclass(eq=False)
class _Datagrams(asyncio.DatagramProtocol):
    """The client's UDP socket, connected to the server: datagrams to the requests waiting for them."""

    timeout: float
    waiting: dict[int, _Waiter] = field(default_factory=dict)
    lost: bool = False
    _transport: asyncio.DatagramTransport | None = None
    _parts: udp.Reassembly = field(init=False)
    _closed: asyncio.Future[None] = field(init=False)

    def __post_init__(self) -> None:
        self._parts = udp.Reassembly(timeout=self.timeout)
        self._closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an `asyncio.DatagramTransport` by class on every loop (CPython 3.11's selector loop).
        self._transport = cast(asyncio.DatagramTransport, transport)

    def send(self, datagrams: list[bytes]) -> None:
        assert self._transport is not None
        for datagram in datagrams:
            self._transport.sendto(datagram)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        assert self._transport is not None
        peer = self._transport.get_extra_info("peername")
        try:
            envelope, payload = udp.split_datagram(data)
        except WireError:
            return
        waiter = self.waiting.get(envelope.request_id)
        if waiter is None or waiter.answer.done() or peer is None or tuple(addr[:2]) != tuple(peer[:2]):
            return  # not for a request of ours (late, spoofed or stray)
        if envelope.length > UDP_MAX_ANSWER:
            waiter.answer.set_result(None)
            return
        waiter.truncated |= bool(envelope.flags & EnvelopeFlag.TC)
        try:
            message = self._parts.add(addr, envelope, payload)
        except WireError as exc:
            waiter.answer.set_exception(ProtocolError(f"a malformed answer: {exc.message}"))
            return
        if message is not None:
            waiter.answer.set_result((envelope, message))

    def error_received(self, exc: Exception) -> None:
        # The host said no one listens there (ICMP port unreachable): waiting longer will not help.
        for waiter in self.waiting.values():
            if not waiter.answer.done():
                waiter.answer.set_exception(errors.TransportError(f"cannot reach the server: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.error_received(exc or ConnectionError("the socket was closed"))
        if not self._closed.done():
            self._closed.set_result(None)

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            await self._closed  # the socket itself is closed in a callback of the loop


class _Connection:
    """One TCP connection: any number of requests on it at once, a reader task handing each answer to the
    request of its id."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._waiting: dict[int, asyncio.Future[Answer]] = {}
        self._continued: dict[int, list[bytes]] = {}
        self._writing = asyncio.Lock()
        self.closed = False
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def ask(
        self,
        message: bytes | Callable[[Envelope], bytes],
        session_id: int = 0,
        continued: list[bytes] | None = None,
    ) -> Answer:
        """The envelope and message answering `message` (sent in `session_id`); a callable makes the
        message for the envelope it goes in. With `continued`, the answer's messages flagged CN (more
        follow) are put there and the last is returned."""
        if self.closed:
            raise _Closed
        request_id = _new_id(self._waiting)
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        if continued is not None:
            self._continued[request_id] = continued
        try:
            async with self._writing:
                envelope = Envelope(session_id=session_id, request_id=request_id)
                data = message if isinstance(message, bytes) else message(envelope)
                self._writer.write(frame(envelope, data))
                await self._writer.drain()
            return await answer
        except (ConnectionError, OSError):
            raise _Closed from None
        finally:
            self._waiting.pop(request_id, None)
            self._continued.pop(request_id, None)

    async def _read(self) -> None:
        failure: Callable[[], Exception] = _Closed
        try:
            while True:
                # The envelope's length is checked against the protocol's limit before it is read.
                envelope = Envelope.decode(await self._reader.readexactly(ENVELOPE_SIZE))
                message = await self._reader.readexactly(envelope.length)
                parts = self._continued.get(envelope.request_id)
                if parts is not None and _is_continued(message):
                    parts.append(message)
                    continue
                answer = self._waiting.get(envelope.request_id)
                if answer is not None and not answer.done():
                    answer.set_result((envelope, message))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except WireError as exc:
            failure = functools.partial(ProtocolError, f"a malformed answer: {exc.message}")
        finally:
            self.closed = True
            for waiting in self._waiting.values():
                if not waiting.done():
                    waiting.set_exception(failure())
            self._writer.close()

    async def close(self) -> None:
        self.closed = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


class NativeClient:
    """`AsyncNativeClient` for programs without an event loop: the same calls, blocking. It runs a private
    event loop, which keeps its TCP connection between calls; not for use inside a running loop."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transport: Transport = "udp",
        timeout: float = 5.0,
        retries: int = 2,
        auth: Credential | None = None,
        session: bool = False,
    ) -> None:
        self._client = AsyncNativeClient(
            host, port, transport=transport, timeout=timeout, retries=retries, auth=auth, session=session
        )
        self._loop = asyncio.Runner()

    def resolve(
        self,
        handle: str,
        *,
        indexes: Sequence[int] = (),
        types: Sequence[str] = (),
        public_only: bool = False,
        authoritative: bool = False,
    ) -> Record:
        """See `AsyncNativeClient.resolve`."""
        return self._loop.run(
            self._client.resolve(
                handle, indexes=indexes, types=types, public_only=public_only, authoritative=authoritative
            )
        )

    def site_info(self) -> Site:
        """See `AsyncNativeClient.site_info`."""
        return self._loop.run(self._client.site_info())

    def create(self, handle: str, values: Values, *, overwrite: bool = False) -> None:
        """See `AsyncNativeClient.create`."""
        self._loop.run(self._client.create(handle, values, overwrite=overwrite))

    def mint(self, prefix: str, values: Values, stem: str = "") -> str:
        """See `AsyncNativeClient.mint`."""
        return self._loop.run(self._client.mint(prefix, values, stem))

    def delete(self, handle: str) -> None:
        """See `AsyncNativeClient.delete`."""
        self._loop.run(self._client.delete(handle))

    def add_values(self, handle: str, values: Values, *, overwrite: bool = False) -> None:
        """See `AsyncNativeClient.add_values`."""
        self._loop.run(self._client.add_values(handle, values, overwrite=overwrite))

    def remove_values(self, handle: str, indexes: Sequence[int]) -> None:
        """See `AsyncNativeClient.remove_values`."""
        self._loop.run(self._client.remove_values(handle, indexes))

    def modify_values(self, handle: str, values: Values) -> None:
        """See `AsyncNativeClient.modify_values`."""
        self._loop.run(self._client.modify_values(handle, values))

    def list_handles(self, prefix: str) -> list[str]:
        """See `AsyncNativeClient.list_handles`."""
        return self._loop.run(self._client.list_handles(prefix))

    def close(self) -> None:
        try:
            self._loop.run(self._client.aclose())
        finally:
            self._loop.close()

    def __enter__(self) -> NativeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


__all__ = [
    "AsyncNativeClient",
    "NativeClient",
    "PrivateKey",
    "ProtocolError",
    "SecretKey",
    "Transport",
    "Values",
]
