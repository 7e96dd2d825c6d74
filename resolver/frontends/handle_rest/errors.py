"""Exception handlers that answer every failure of the application in Handle REST terms (codes.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match

from registry import errors

from ...pipeline import StoreUnavailable
from ...throttle import Throttled
from ..http import JSON, BodyRefused
from .auth import challenges
from .codes import (
    BASIC_CHALLENGE,
    ERROR,
    OPERATION_NOT_SUPPORTED,
    PROTOCOL_ERROR,
    SERVER_BUSY,
    failure,
    registry_failure,
    throttled,
)

log = logging.getLogger("idnode.http")


def _json(status: int, body: bytes, challenged: list[str] | None = None) -> Response:
    response = Response(body, status_code=status, media_type=JSON)
    if status == 401:
        for challenge in challenged or [BASIC_CHALLENGE]:
            response.headers.append("WWW-Authenticate", challenge)
    return response


async def _on_registry_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.RegistryError)
    handle = exc.handle if isinstance(exc, errors.InvalidHandle) else request.path_params.get("handle")
    # An invalid handle is echoed as the parser saw it, or not at all: the path parameter is decoded leniently
    # (U+FFFD for bytes that are not UTF-8), and a handle that is not text is not echoed (as GET does).
    status, body = registry_failure(exc, handle)
    return _json(status, body, await challenges(request) if status == 401 else None)


async def _on_throttled(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Throttled)
    response = _json(*throttled(exc.retry_after))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _on_validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return _json(*failure(PROTOCOL_ERROR, message=f"invalid request: {problems}"))


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _allowed(request: Request) -> str:
    """The methods the requested path answers, for a 405's `Allow`: each is tried against the routes
    (Starlette's `Allow` names only the methods of one route, and here a path has a route per method)."""
    path, root_path = request.scope["path"], request.scope.get("root_path", "")
    allowed = []
    for method in _METHODS:
        probe = {"type": "http", "path": path, "root_path": root_path, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    if "GET" in allowed:
        allowed.insert(allowed.index("GET") + 1, "HEAD")  # the edge answers HEAD as GET
    return ", ".join(allowed)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and request.url.path.startswith("/api/"):
        # The Handle REST API answers unknown resources under /api/ as unsupported operations.
        return _json(*failure(OPERATION_NOT_SUPPORTED, message="no such operation"))
    code = OPERATION_NOT_SUPPORTED if exc.status_code == 405 else PROTOCOL_ERROR
    response = _json(exc.status_code, failure(code, message=str(exc.detail))[1])
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed(request)
    return response


async def _on_body_refused(_request: Request, exc: Exception) -> Response:
    # The edge answers in the path's dialect (and drops this); here only so that it is no "unexpected error".
    assert isinstance(exc, BodyRefused)
    return _json(exc.status, failure(PROTOCOL_ERROR, message=exc.message)[1])


async def _on_client_gone(_request: Request, _exc: Exception) -> Response:
    # Nobody is there to read an answer; the edge logs the one line.
    return Response(status_code=400)


def _is_outage(exc: Exception) -> bool:
    if isinstance(exc, DBAPIError):
        return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated
    return True


async def _on_database(request: Request, exc: Exception) -> Response:
    if not _is_outage(exc):
        return await _on_unexpected(request, exc)
    log.warning("database unavailable: %s", exc)
    return _json(*failure(SERVER_BUSY, message="the database is unavailable; try again shortly"))


async def _on_busy(_request: Request, exc: Exception) -> Response:
    return _json(*failure(SERVER_BUSY, message=str(exc)))


async def _on_unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return _json(*failure(ERROR, message="internal error"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.RegistryError, _on_registry_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(BodyRefused, _on_body_refused)
    app.add_exception_handler(ClientDisconnect, _on_client_gone)
    app.add_exception_handler(Throttled, _on_throttled)
    app.add_exception_handler(StoreUnavailable, _on_busy)
    for db_error in (DBAPIError, PoolTimeout, OSError):
        app.add_exception_handler(db_error, _on_database)
    app.add_exception_handler(Exception, _on_unexpected)
