"""Handle REST sessions, as the Handle.Net server offers them: `POST /api/sessions` opens one (an id and a
nonce), `GET`, `PUT` or `POST /api/sessions/this` show it or authenticate it with an answer to its
challenge, `DELETE` ends it (204).

    POST /api/sessions                      → 201 {"sessionId": "…", "nonce": "…"}
    PUT /api/sessions/this
        Authorization: Handle sessionId="…", id="300:0.NA/88.118.8", type="HS_PUBKEY", cnonce="…",
                       alg="SHA256", signature="…"
                                            → 200 {"sessionId": "…", "nonce": "…", "authenticated": true,
                                                   "id": "300:0.NA/88.118.8"}

The node keeps which sessions are authenticated (`registry.sessions`, in the database, so every worker
knows): the client goes on sending the same `sessionId` alone, and DELETE ends the session (only an id minted
before the node kept sessions, self-authenticated, stays good until it expires). A session the node does not
know (or that has expired) is answered 403, responseCode 403; a wrong answer 401 with a challenge, as
everywhere.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from registry import AuthenticationFailed, InvalidInput, Principal, Session

from ..context import Context, ContextDep
from ..http import JSONResponse
from .auth import basic_principal, handle_credentials, scheme_of
from .codes import AUTHENTICATION_FAILED, error_body

router = APIRouter(tags=["Handle REST"])
THIS = "/api/sessions/this"


def _shown(session: Session | None, principal: Principal | None) -> dict[str, Any]:
    """A session as Handle.Net shows it: `{"authenticated": false}` when there is nothing to show."""
    body: dict[str, Any] = {}
    if session is not None:
        body |= {"sessionId": session.id, "nonce": session.nonce_text}
    if principal is not None:
        body |= {"authenticated": True, "id": str(principal)}
    return body or {"authenticated": False}


def _gone(message: str) -> Response:
    body = error_body(AUTHENTICATION_FAILED, message=message)
    return Response(body, status_code=403, media_type="application/json")


@router.post(
    "/api/sessions", status_code=201, summary="Open a session (a nonce to sign; with Basic, logged in)"
)
@router.post("/api/sessions/", status_code=201, include_in_schema=False)
async def open_session(request: Request, context: ContextDep) -> Response:
    scheme, rest = scheme_of(request)
    session = await context.services.sessions.open()
    principal = None
    if scheme == "handle":
        credentials = handle_credentials(rest)
        if credentials.session_id is not None:
            raise InvalidInput("POST /api/sessions opens a new session: it names none")
        if credentials.answer is not None:
            raise AuthenticationFailed("a challenge is answered in its session: PUT /api/sessions/this")
    elif scheme == "basic":
        principal = await basic_principal(rest, context, request.scope)
        session = await context.services.sessions.with_secret(session, principal)
    elif scheme:
        raise AuthenticationFailed("Basic or Handle authentication is needed")
    headers = {"Location": THIS}
    return JSONResponse(_shown(session, principal), status_code=201, headers=headers)


async def _this(request: Request, context: Context) -> Response:
    """The session the request names, authenticated if it answers the challenge; or, with Basic, who the
    credentials prove."""
    scheme, rest = scheme_of(request)
    if scheme == "basic":
        return JSONResponse(_shown(None, await basic_principal(rest, context, request.scope)))
    if scheme and scheme != "handle":
        raise AuthenticationFailed("Basic or Handle authentication is needed")
    credentials = handle_credentials(rest) if scheme else None
    if credentials is None or credentials.session_id is None:
        if credentials is not None and credentials.answer is not None:
            return _gone("a challenge is answered in its session: sessionId=…")
        return JSONResponse(_shown(None, None))
    sessions = context.services.sessions
    try:
        session = await sessions.read(credentials.session_id)
    except AuthenticationFailed as exc:
        return _gone(exc.message)
    if credentials.answer is not None:
        session = await sessions.answer(session, credentials.answer)
        return JSONResponse(_shown(session, session.principal))
    try:
        principal: Principal | None = await sessions.principal(session)
    except AuthenticationFailed:
        principal = None  # not (or no longer) authenticated: the challenge is still there to answer
    return JSONResponse(_shown(session, principal))


@router.get(THIS, summary="The session: its nonce, and whether (and as whom) it is authenticated")
async def show_session(request: Request, context: ContextDep) -> Response:
    return await _this(request, context)


@router.put(THIS, summary="Authenticate the session: answer its challenge in Authorization: Handle")
async def authenticate_session(request: Request, context: ContextDep) -> Response:
    return await _this(request, context)


@router.post(THIS, summary="As PUT (the Handle.Net server takes either)")
async def authenticate_session_by_post(request: Request, context: ContextDep) -> Response:
    return await _this(request, context)


@router.delete(THIS, status_code=204, summary="End the session: its id authenticates no one any more")
async def end_session(request: Request, context: ContextDep) -> Response:
    """End the session the request names (its row goes: on every worker, its id is no longer authenticated).
    An id minted self-authenticated before the node kept sessions cannot be revoked before it expires."""
    scheme, rest = scheme_of(request)
    named = handle_credentials(rest).session_id if scheme == "handle" else None
    if named is None:
        return _gone("no session named: Authorization: Handle sessionId=…")
    sessions = context.services.sessions
    try:
        session = await sessions.read(named)
    except AuthenticationFailed as exc:
        return _gone(exc.message)
    await sessions.end(session)
    return Response(status_code=204)
