"""Who acts on a Handle REST request: `Authorization: Basic` against HS_SECKEY values, or
`Authorization: Handle`, the challenge–response against HS_PUBKEY values, and its sessions
(`registry.sessions`).

    Authorization: Basic base64("300%3A0.NA/88.118.8:secret")
    Authorization: Handle sessionId="…", id="300:0.NA/88.118.8", type="HS_PUBKEY", cnonce="…", alg="SHA256",
                   signature="…"            (the signature covers the session's nonce, then cnonce)
    Authorization: Handle sessionId="…"     (a session authenticated before: the same id)

Either way the principal is the same `Principal`, so authorisation does not care how it was proved. Each
scheme has its small function (`basic_principal`, `handle_principal`); a Basic check passes the authentication
throttle (resolver/throttle), which may refuse it (429) before the secret is checked. A refusal is a 401
with both challenges (`challenges`): `WWW-Authenticate: Basic realm="handle"` and `Handle sessionId="…",
nonce="…"`.
When a request answers a challenge, the node records the session as authenticated (so its id alone will do
from then on, in every worker) and the answer carries the session in `Authentication-Info`
(`AuthenticationInfo`, around the application behind the GET lane). The reader of a resolution is
anonymous unless the request authenticates (`reader`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError

from registry import AuthenticationFailed, Principal, RegistryError, Session
from registry.principals import split_basic_credentials
from registry.sessions import Answer
from registry.visibility import Reader

from ..context import Context, ContextDep
from ..http import ASGIApp, Message, Receive, Scope, Send
from .codes import BASIC_CHALLENGE

_TOKEN = r"[-A-Za-z0-9!#$%&'*+.`^_|~]+"
# name=value, the value a quoted string or (more leniently than Handle.Net) any run without spaces or commas.
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)\s*(?:,\s*|$)')
_ANSWER_FIELDS = ("id", "type", "cnonce", "alg", "signature")
_INFO = "authentication_info"  # the request state's name for the session a request authenticated


@dataclass(frozen=True, slots=True)
class HandleCredentials:
    """What `Authorization: Handle …` says: the session it names, and an answer to its challenge."""

    session_id: str | None
    answer: Answer | None


def scheme_of(request: Request) -> tuple[str, str]:
    """The request's authorization scheme, lower case, and what follows it ("" and "" without one)."""
    scheme, _, rest = request.headers.get("authorization", "").strip().partition(" ")
    return scheme.lower(), rest


def _parameters(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    at = 0
    while at < len(text):
        match = _PARAM.match(text, at)
        if match is None or match.end() == at:
            raise AuthenticationFailed("Authorization: Handle is name=value pairs separated by commas")
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.setdefault(match.group(1).lower(), value)
        at = match.end()
    return found


def handle_credentials(text: str) -> HandleCredentials:
    """The parameters of `Authorization: Handle …` (names in any case; `id` may be percent-encoded)."""
    params = _parameters(text)
    if params.get("version", "0") != "0":
        raise AuthenticationFailed("unknown version in Authorization: Handle")
    given = [name for name in _ANSWER_FIELDS if name in params]
    answer = None
    if given and given != ["cnonce"]:  # a cnonce alone asks for the server's signature, not to log in
        if len(given) != len(_ANSWER_FIELDS):
            raise AuthenticationFailed(f"the challenge answer needs {', '.join(_ANSWER_FIELDS)}")
        answer = Answer(
            unquote(params["id"]), params["type"], params["cnonce"], params["alg"], params["signature"]
        )
    return HandleCredentials(params.get("sessionid") or None, answer)


async def basic_principal(token: str, context: Context, scope: Scope) -> Principal:
    """The principal of `Authorization: Basic`, whose HS_SECKEY the secret matches (unless the throttle
    refuses the attempt first)."""
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("the Basic credentials are not base64 of UTF-8 text") from None
    username, secret = split_basic_credentials(decoded)
    throttle = context.throttle
    source = throttle.source_of(scope)
    async with throttle.attempt(
        account=account_of(username, context), secret=secret, source=source, dialect="handle_rest"
    ):
        return await context.services.accounts.authenticate(username, secret)


def account_of(username: str, context: Context) -> str:
    """The account a Basic user name names, as the node tells accounts apart (`300:<handle key>`): every
    spelling of one account (case, percent-encoding) is counted as that account."""
    try:
        principal = Principal.parse(username)
    except AuthenticationFailed:
        return username
    return f"{principal.index}:{context.naming.key(principal.handle)}"


async def handle_principal(
    credentials: HandleCredentials, context: Context
) -> tuple[Principal, Session | None]:
    """The principal of `Authorization: Handle`: the answer to the session's challenge, or the session
    authenticated before; with it the session, when this request authenticated it."""
    if credentials.session_id is None:
        raise AuthenticationFailed("Authorization: Handle names its session (sessionId=)")
    sessions = context.services.sessions
    session = await sessions.read(credentials.session_id)
    if credentials.answer is None:
        return await sessions.principal(session), None
    session = await sessions.answer(session, credentials.answer)
    assert session.principal is not None
    return session.principal, session


def session_header(session: Session) -> str:
    return f'Handle sessionId="{session.id}", nonce="{session.nonce_text}"'


async def authenticate(request: Request, context: ContextDep) -> Principal:
    """The principal of the request's `Authorization` header, or `AuthenticationFailed`."""
    scheme, rest = scheme_of(request)
    if scheme == "basic":
        return await basic_principal(rest, context, request.scope)
    if scheme == "handle":
        principal, session = await handle_principal(handle_credentials(rest), context)
        if session is not None:
            setattr(request.state, _INFO, session_header(session).encode())
        return principal
    if not scheme:
        raise AuthenticationFailed("authentication needed")
    raise AuthenticationFailed("Basic or Handle authentication is needed")


async def challenges(request: Request) -> list[str]:
    """The `WWW-Authenticate` values of a 401: Basic, and a Handle session to answer — the request's own
    when it names one that is still good, else a new one (Basic alone if the node's key cannot be read)."""
    session = await _named(request) or await _fresh(request.app.state.context)
    return [BASIC_CHALLENGE] if session is None else [BASIC_CHALLENGE, session_header(session)]


async def _named(request: Request) -> Session | None:
    context: Context = request.app.state.context
    try:
        scheme, rest = scheme_of(request)
        named = handle_credentials(rest).session_id if scheme == "handle" else None
        return await context.services.sessions.read(named) if named else None
    except (RegistryError, SQLAlchemyError, OSError):  # expired, forged, or the node's key unreadable
        return None


async def _fresh(context: Context) -> Session | None:
    try:
        return await context.services.sessions.open()
    except (RegistryError, SQLAlchemyError, OSError):
        return None


class AuthenticationInfo:
    """Adds `Authentication-Info: Handle sessionId="…", nonce="…"` to the answer of a request that answered
    a challenge (FastAPI keeps no header a dependency sets when the route answers with a `Response`)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            info = scope.get("state", {}).get(_INFO)
            if info is not None and message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (b"authentication-info", info)],
                }
            await send(message)

        await self._app(scope, receive, sending)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


async def reader(request: Request, context: ContextDep) -> Reader | None:
    """Who reads: None for a request without an Authorization header (anonymous, shown the public values, as
    the GET lane answers it), else the principal `authenticate` names — so every scheme it takes serves
    reads too; credentials that fail are refused (401), not read as anonymous."""
    if "authorization" not in request.headers:
        return None
    return Reader(await authenticate(request, context), context.naming, context.services.node.prefix)


ReaderDep = Annotated[Reader | None, Depends(reader)]
