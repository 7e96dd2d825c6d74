"""The SNMS envelope and status codes, and the one place where failures become them.

| status | meaning |
| 1 | success | -1 | not logged in or token expired | -2 | business failure (message says why) |
| -3 | no permission | -4 | internal error |

Every answer is HTTP 200 but a body the node's edge refuses before the API reads it (too large: 413, too
slow: 408), which is still an envelope, status -2: the client's failure, never -4.
A refusal by the authentication throttle is status -2 too, with a message saying when to try again, and
that time in `Retry-After` for clients that read headers.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from registry import errors

from ...pipeline import StoreUnavailable
from ...throttle import Throttled
from ..http import BodyRefused, BodyTimedOut

log = logging.getLogger("idnode.snms")

OK, NOT_LOGGED_IN, FAILED, FORBIDDEN, INTERNAL = 1, -1, -2, -3, -4
SUCCESS = "success"
LOGIN_NEEDED = "未登录或登录已过期"
NO_PERMISSION = "无权限操作"
INTERNAL_ERROR = "服务内部错误，请稍后重试"
EXISTS = "标识已存在"
NOT_FOUND = "标识不存在"
BAD_HANDLE = "标识格式错误"
BAD_REQUEST = "参数错误"
# Where the SNMS API lives: the paths whose refusals at the edge are envelopes.
PATHS = ("/identity/", "/identityv2/", "/snms/")
THROTTLED = "认证失败次数过多，请 {} 秒后重试"


class SnmsFailure(Exception):
    """A failure already in SNMS terms."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def envelope(
    status: int, message: str, data: Any = None, *, headers: dict[str, str] | None = None
) -> Response:
    body = orjson.dumps({"status": status, "message": message, "data": data})
    return Response(body, media_type="application/json", headers=headers)


def throttled(exc: Throttled) -> Response:
    wait = str(exc.retry_after)
    return envelope(FAILED, THROTTLED.format(wait), headers={"Retry-After": wait})


def ok(data: Any) -> Response:
    return envelope(OK, SUCCESS, data)


def body_refused(refused: BodyRefused) -> tuple[int, bytes]:
    """The edge's answer to a body it refuses: its HTTP status, and an envelope with the client's failure."""
    if isinstance(refused, BodyTimedOut):
        message = f"{BAD_REQUEST}：请求体未在 {refused.limit:g} 秒内传完"
    else:
        message = f"{BAD_REQUEST}：请求体超过 {int(refused.limit)} 字节"
    return refused.status, orjson.dumps({"status": FAILED, "message": message, "data": None})


def status_of(exc: errors.RegistryError) -> tuple[int, str]:
    """The SNMS status and Chinese message of a registry failure."""
    detail = exc.message
    if isinstance(exc, errors.AuthenticationFailed):
        return NOT_LOGGED_IN, LOGIN_NEEDED
    if isinstance(exc, errors.PermissionDenied | errors.NotResponsible):
        return FORBIDDEN, f"{NO_PERMISSION}：{detail}"
    if isinstance(exc, errors.HandleExists):
        return FAILED, EXISTS
    if isinstance(exc, errors.HandleNotFound) and exc.handle is not None:
        return FAILED, NOT_FOUND
    if isinstance(exc, errors.InvalidHandle):
        return FAILED, f"{BAD_HANDLE}：{detail}"
    if isinstance(exc, errors.InvalidInput):
        return FAILED, f"{BAD_REQUEST}：{detail}"
    return FAILED, detail


P = ParamSpec("P")


def endpoint(handler: Callable[P, Awaitable[Response]]) -> Callable[P, Awaitable[Response]]:
    """Answer every failure of `handler` in the envelope: never an HTML page, never an HTTP error."""

    @functools.wraps(handler)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await handler(*args, **kwargs)
        except SnmsFailure as exc:
            return envelope(exc.status, exc.message)
        except Throttled as exc:
            return throttled(exc)
        except (BodyRefused, ClientDisconnect):  # the edge answers (or logs) these; not the API's failure
            return envelope(FAILED, BAD_REQUEST)
        except Exception as exc:
            return envelope(*failure_of(exc))

    return wrapped


def failure_of(exc: Exception) -> tuple[int, str]:
    """A handler's failure as an SNMS status and message; logged where it is not the client's (call it in the
    `except` block: a bug is logged with its trace)."""
    if isinstance(exc, SnmsFailure):
        return exc.status, exc.message
    if isinstance(exc, errors.RegistryError):
        return status_of(exc)
    if isinstance(exc, StoreUnavailable):
        log.warning("SNMS read failed: %s", exc)
    elif isinstance(exc, SQLAlchemyError | OSError):
        log.warning("SNMS request failed on the database: %r", exc)
    else:  # a bug
        log.exception("SNMS request failed")
    return INTERNAL, INTERNAL_ERROR


async def json_body(request: Request) -> Any:
    return parsed(await request.body())


def parsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SnmsFailure(FAILED, f"{BAD_REQUEST}：请求体不是合法的 JSON") from None


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SnmsFailure(NOT_LOGGED_IN, LOGIN_NEEDED)
    return token.strip()
