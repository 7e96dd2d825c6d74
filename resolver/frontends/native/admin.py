"""Administration over the native protocol: CREATE_HANDLE, DELETE_HANDLE, ADD_VALUE, REMOVE_VALUE,
MODIFY_VALUE and LIST_HANDLES, each challenged, then done as the registry's writes and reads — the same
authorisation (the record's HS_ADMIN and HS_VLIST values), journal and caches as the HTTP writes.

A request that needs an administrator is answered 402 with a nonce and its digest, under a session id of its
own (or of the session it came in: `sessions.py`); the client answers that (CHALLENGE_RESPONSE, the same
session id, often on a new connection — so the pending challenge is kept in the database, where every node
process finds it) proving an HS_SECKEY secret or an HS_PUBKEY key, and gets the original request's answer.
Once a challenge in a session succeeds, the session's requests are done as its administrator without one.
Failed proofs count against the account and the address as failed logins do in every other dialect (the
throttle); a wrong proof is 403 and writes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from registry import Handle, InvalidHandle, Principal, RegistryError
from registry.audit import source as audit_source
from registry.challenges import Pending
from registry.codec import values_from_json
from registry.errors import AuthenticationFailed
from registry.native_sessions import NativeSession
from registry.values import HS_PUBKEY, HandleValue
from sdk.native import auth, bodies
from sdk.native.caict import PubkeyLogin, login_answer
from sdk.native.codes import HEADER_SIZE, OpCode, OpFlag, ResponseCode
from sdk.native.message import Message
from sdk.native.values import Value, to_json
from sdk.native.wire import WireError

from ...throttle import Throttled
from ..context import Context
from ..handle_rest.codes import status_of
from . import logins
from .reading import read_as
from .request import Request
from .sessions import SessionDesk, sealed

log = logging.getLogger("idnode.native")

ADMIN_OPCODES = frozenset(
    {
        OpCode.CREATE_HANDLE, OpCode.DELETE_HANDLE, OpCode.ADD_VALUE, OpCode.REMOVE_VALUE,
        OpCode.MODIFY_VALUE, OpCode.LIST_HANDLES,
    }
)  # fmt: skip
# Not administration, but answered here: the answer to a challenge, and the CAICT login that is challenged.
CHALLENGED_OPCODES = frozenset({OpCode.CHALLENGE_RESPONSE, OpCode.CAICT_LOGIN_PUBKEY})
# How long a challenge waits for its answer (the reference server: about a minute).
CHALLENGE_SECONDS = 60
# LIST_HANDLES names per message: over TCP and HTTP as many messages follow as it takes (the reference server
# sends 50 a message; fewer, larger ones cost less here), over UDP the first message is the answer.
LIST_PAGE = 10_000


class Administration:
    def __init__(self, context: Callable[[], Context], sessions: SessionDesk) -> None:
        self._context = context
        self._sessions = sessions

    def handle(self, request: Request) -> Awaitable[bytes]:
        """The answer to an administrative request, a challenge's answer, a CAICT login, or a resolution of
        values only some may read (`reading.py`)."""
        if request.message.opcode == OpCode.CHALLENGE_RESPONSE:
            return self._answered(request)
        if request.message.opcode == OpCode.CAICT_LOGIN_PUBKEY:
            return self._login(request)
        return self._administer(request)

    async def _login(self, request: Request) -> bytes:
        if request.connection is None:
            return request.error(ResponseCode.OPERATION_NOT_SUPPORTED, logins.NOT_HERE)
        return await self._challenge(request, None)

    async def _administer(self, request: Request) -> bytes:
        """Done at once in a session whose administrator a challenge has proved, or on a connection an
        administrator has logged in on; challenged otherwise."""
        session = await self._sessions.admit(request)
        if isinstance(session, bytes):
            return session
        if session is not None and session.admin is not None:
            handle, index = session.admin
            principal: Principal | None = Principal(Handle.parse(handle), index)
        else:
            principal = logins.logged_in(request)
        if principal is None:
            return await self._challenge(request, None if session is None else session.id)
        audit_source.set(request.source)
        answer = await _perform(self._context(), request, principal)
        return _confidential(answer, request, session)

    async def _challenge(self, request: Request, session: int | None) -> bytes:
        """402 with a nonce, the request kept for its answer — unless the request is malformed. Outside a
        session the challenge gets a session id of its own."""
        try:
            _decoded(request.message)
        except WireError as exc:
            return request.error(exc.code, exc.message)
        nonce = secrets.token_bytes(auth.NONCE_SIZE)
        if session is None:
            session = secrets.randbelow(2**31 - 2) + 1
        raw = request.message.encode()
        digest = request.digest()[1:]
        now = int(time.time())
        pending = Pending(raw, nonce, digest)
        await self._context().services.challenges.put(
            session, pending, expires=now + CHALLENGE_SECONDS, now=now
        )
        request.session = session
        body = auth.Challenge(nonce).encode()
        return request.answer(ResponseCode.AUTHENTICATION_NEEDED, body, OpFlag.RD)

    async def _answered(self, request: Request) -> bytes:
        try:
            answer = auth.ChallengeAnswer.decode(request.message.body)
        except WireError as exc:
            return request.error(exc.code, exc.message)
        context = self._context()
        pending = await context.services.challenges.take(request.envelope.session_id, int(time.time()))
        if pending is None:
            return request.error(ResponseCode.AUTHEN_TIMEOUT, "no challenge of this session is waiting")
        original = _original(request, pending.request)
        audit_source.set(request.source)  # failed proofs are audited from where they came too
        try:
            principal = Principal(Handle.parse(answer.handle), answer.index)
            proof = auth.signed_by_answer(pending.nonce, pending.digest)
            async with context.throttle.attempt(
                account=str(principal), secret=answer.response.hex(), source=request.source, dialect="native"
            ):
                await _prove(context, principal, answer, proof)
        except Throttled as exc:
            return original.error(ResponseCode.SERVER_TOO_BUSY, str(exc))
        except (AuthenticationFailed, InvalidHandle) as exc:
            return original.error(ResponseCode.AUTHENTICATION_FAILED, exc.message)
        except WireError as exc:
            return original.error(ResponseCode.AUTHENTICATION_FAILED, exc.message)
        sessions = context.services.native_sessions
        now = int(time.time())
        session = await sessions.get(request.envelope.session_id, now)
        if session is not None:
            await sessions.authenticate(session.id, (str(principal.handle), principal.index), now)
        return _confidential(await _perform(context, original, principal), original, session)


async def _prove(context: Context, principal: Principal, answer: auth.ChallengeAnswer, data: bytes) -> None:
    """Raise `AuthenticationFailed` unless `answer` proves `principal`'s key over `data`."""
    if answer.kind == auth.HS_PUBKEY:
        key_answer = auth.KeyAnswer.decode(answer.response)
        await context.services.sessions.prove(principal, data, key_answer.signature, key_answer.hash_alg)
        return
    if answer.kind != auth.HS_SECKEY:
        raise AuthenticationFailed(f"unknown authentication type {answer.kind[:32]!r}")
    secret = await context.services.accounts.native_secret(principal)
    # The PBKDF2 the client chose costs milliseconds: off the event loop.
    if secret is None or not await asyncio.to_thread(auth.secret_verifies, answer.response, data, secret):
        raise AuthenticationFailed(f"the secret key of {principal} does not match")


def _confidential(answer: bytes, request: Request, session: NativeSession | None) -> bytes:
    """`answer`, encrypted with the session's key when it is a resolution in a session — one that needed
    an administrator, so it holds values the public may not read (the reference server's rule)."""
    if session is None or request.message.opcode != OpCode.RESOLUTION:
        return answer
    return sealed(answer, session.key)


def _original(answering: Request, raw: bytes) -> Request:
    """The challenged request, to be answered in the session and with the request id of its answer (and
    on its connection)."""
    message = Message.decode(raw)
    signed = raw[: HEADER_SIZE + len(message.body)]
    original = Request(
        message, signed, answering.envelope, answering.source, answering.connection, answering.streams
    )
    original.key = answering.key
    return original


Decoded = (
    bodies.ValuesRequest
    | bodies.HandleRequest
    | bodies.IndexesRequest
    | PubkeyLogin
    | bodies.ResolutionRequest
)


def _decoded(message: Message) -> Decoded:
    if message.opcode == OpCode.CAICT_LOGIN_PUBKEY:
        return PubkeyLogin.decode(message.body)
    if message.opcode == OpCode.RESOLUTION:
        return bodies.ResolutionRequest.decode(message.body)
    if message.opcode in (OpCode.CREATE_HANDLE, OpCode.ADD_VALUE, OpCode.MODIFY_VALUE):
        return bodies.ValuesRequest.decode(message.body)
    if message.opcode == OpCode.REMOVE_VALUE:
        return bodies.IndexesRequest.decode(message.body)
    return bodies.HandleRequest.decode(message.body)


async def _perform(context: Context, request: Request, principal: Principal) -> bytes:
    """The challenged request, done as `principal`, answered in the protocol's terms."""
    message = request.message
    try:
        decoded = _decoded(message)
        if isinstance(decoded, PubkeyLogin):
            return _logged_in(request, principal, decoded)
        if isinstance(decoded, bodies.ResolutionRequest):
            return await read_as(context, request, principal)
        if message.opcode == OpCode.LIST_HANDLES:
            return await _listed(context, request, Handle.parse(decoded.handle), principal)
        if message.opcode == OpCode.CREATE_HANDLE and message.has(OpFlag.MINT):
            body = await _mint(context, decoded, principal)
        else:
            body = await _write(context, message, decoded, Handle.parse(decoded.handle), principal)
    except WireError as exc:
        return request.error(exc.code, exc.message)
    except RegistryError as exc:
        return request.error(status_of(exc)[1], exc.message)
    except Exception:  # a bug: still an answer, and a trace in the log
        log.exception("native %s of %s failed", message.opcode, principal)
        return request.error(ResponseCode.ERROR, "internal error")
    return request.answer(ResponseCode.SUCCESS, body)


def _logged_in(request: Request, principal: Principal, login: PubkeyLogin) -> bytes:
    """The answer to a CAICT login whose challenge `principal` answered: the connection is theirs now."""
    assert request.connection is not None  # logins are challenged only on connections
    request.connection.principal = principal
    return request.answer(ResponseCode.SUCCESS, login_answer(login.handle))


async def _write(
    context: Context, message: Message, decoded: Decoded, handle: Handle, principal: Principal
) -> bytes:
    """What the request asks, done; the answer's body."""
    records = context.services.records
    opcode = message.opcode
    if isinstance(decoded, bodies.ValuesRequest):
        values = registry_values(decoded.values)
        if opcode == OpCode.CREATE_HANDLE:
            await records.put_record(principal, handle, values, overwrite=message.has(OpFlag.OVRW))
        elif opcode == OpCode.ADD_VALUE:
            await records.put_values(principal, handle, values, overwrite=message.has(OpFlag.OVRW))
        else:
            await records.modify_values(principal, handle, values)
        return b""
    if isinstance(decoded, bodies.IndexesRequest):
        await records.delete_values(principal, handle, decoded.indexes)
        return b""
    await records.delete(principal, handle)
    return b""


async def _listed(context: Context, request: Request, handle: Handle, principal: Principal) -> bytes:
    """LIST_HANDLES of the prefix handle `handle`: over TCP and HTTP every name, `LIST_PAGE` a message,
    all but the last flagged CN (continued) as the reference server streams them; over UDP, where an answer
    is one message, the first `LIST_PAGE`."""
    answers = []
    for page in itertools.count():
        listed = await context.services.reads.list_handles(
            principal, handle.suffix, page=page, page_size=LIST_PAGE
        )
        more = request.streams and (page + 1) * LIST_PAGE < listed.total
        flags = OpFlag.CN if more else OpFlag.NONE
        answers.append(request.answer(ResponseCode.SUCCESS, bodies.handles_body(listed.handles), flags))
        if not more:
            break
    return b"".join(answers)


async def _mint(context: Context, decoded: Decoded, principal: Principal) -> bytes:
    """CREATE_HANDLE with MINT: `prefix/stem` (the stem may be empty) gets a suffix the node chooses; the
    answer names the handle made."""
    assert isinstance(decoded, bodies.ValuesRequest)
    prefix, _, stem = decoded.handle.partition("/")
    Handle.parse(f"{prefix}/{stem or 'x'}")  # the prefix and the stem as a handle would have them
    minted = await context.services.records.mint(
        principal, prefix, registry_values(decoded.values), stem=stem
    )
    return bodies.HandleRequest(str(minted)).encode()


def registry_values(values: tuple[Value, ...]) -> list[HandleValue]:
    """Values of a request, as the registry takes them (HS_PUBKEY data in the Handle System's key form)."""
    items = []
    for value in values:
        item = to_json(value)
        if value.type == HS_PUBKEY:
            item["data"] = {"format": "base64", "value": base64.b64encode(value.data).decode()}
        items.append(item)
    return values_from_json(items)
