"""Translating failures into Handle REST status codes and responseCodes, in one place.

Nothing reaches a client as an HTML page or a bare 500: domain errors map to their responseCode, a database
that cannot be reached is "server busy" (503, responseCode 3), and anything unforeseen is responseCode 2.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response

from registry import errors

from .responses import answer

log = logging.getLogger("idnode.http")

# (HTTP status, responseCode) per error class; the first match in the class's MRO wins.
CODES: dict[type[errors.RegistryError], tuple[int, int]] = {
    errors.InvalidHandle: (400, 102),
    errors.InvalidValue: (400, 202),
    errors.InvalidInput: (400, 4),
    errors.HandleNotFound: (404, 100),
    errors.HandleExists: (409, 101),
    errors.ValueExists: (409, 201),
    errors.ValuesNotFound: (400, 200),
    errors.AuthenticationFailed: (401, 402),
    errors.PermissionDenied: (403, 400),
    errors.NotResponsible: (400, 301),
    errors.Conflict: (409, 101),
    errors.NodeNotInitialised: (503, 3),
}

CHALLENGE = {"WWW-Authenticate": 'Basic realm="handle"'}


class BodyTooLarge(Exception):
    """The request body is larger than the node accepts."""


def status_of(exc: errors.RegistryError) -> tuple[int, int]:
    for cls in type(exc).__mro__:
        if cls in CODES:
            return CODES[cls]
    return 500, 2


def registry_error(exc: errors.RegistryError, handle: str | None = None) -> Response:
    status, code = status_of(exc)
    response = answer(status, code, exc.handle if handle is None else handle, exc.message)
    if status == 401:
        response.headers.update(CHALLENGE)
    return response


async def _on_registry_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.RegistryError)
    return registry_error(exc, request.path_params.get("handle"))


async def _on_validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return answer(400, 4, message=f"invalid request: {problems}")


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and request.url.path.startswith("/api/"):
        # The Handle REST API answers unknown resources under /api/ as unsupported operations.
        return answer(405, 5, message="no such operation")
    code = 5 if exc.status_code == 405 else 4
    return answer(exc.status_code, code, message=str(exc.detail))


async def _on_too_large(_request: Request, exc: Exception) -> Response:
    return answer(413, 4, message=str(exc) or BodyTooLarge.__doc__)


def _is_outage(exc: Exception) -> bool:
    if isinstance(exc, DBAPIError):
        return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated
    return True


async def _on_database(request: Request, exc: Exception) -> Response:
    if not _is_outage(exc):
        return await _on_unexpected(request, exc)
    log.warning("database unavailable: %s", exc)
    return answer(503, 3, message="the database is unavailable; try again shortly")


async def _on_unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return answer(500, 2, message="internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.RegistryError, _on_registry_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(BodyTooLarge, _on_too_large)
    for db_error in (DBAPIError, PoolTimeout, OSError):
        app.add_exception_handler(db_error, _on_database)
    app.add_exception_handler(Exception, _on_unexpected)
