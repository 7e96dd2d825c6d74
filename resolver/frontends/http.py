"""HTTP plumbing the front ends share: ASGI types, the JSON response class, refusals of a request body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from starlette.responses import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON = "application/json"
# Set in a request's scope by the edge, which reads the headers once, when an Authorization header is there
# (and only then): the GET lane answers requests without it, and leaves the others to be authenticated.
AUTHORIZATION_SENT = "idnode.authorization_sent"
# Set by the edge to the value of a request's `Idnode-Recursion-Count` header: how many nodes the query
# passed through before this one (another node asking on a client's behalf).
RECURSION_COUNT = "idnode.recursion_count"
# An answer from a cache past its freshness, served while the database is down (RFC 8767's way, in HTTP).
STALE_WARNING = '110 - "Response is Stale"'


class JSONResponse(Response):
    """A JSON answer rendered with orjson; keys keep the order they were given in."""

    media_type = JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class BodyRefused(Exception):
    """The request body is refused before it is read to the end; `status` is the HTTP status that says why."""

    status = 400

    def __init__(self, limit: float, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.message = message


class BodyTooLarge(BodyRefused):
    """The request body is larger than the node accepts (`limit` bytes)."""

    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(limit, f"the body is larger than {limit} bytes")


class BodyTimedOut(BodyRefused):
    """The request body did not arrive within `limit` seconds of its headers."""

    status = 408

    def __init__(self, limit: float) -> None:
        super().__init__(limit, f"the body did not arrive within {limit:g} seconds")


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the request header `name` (lower case)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
