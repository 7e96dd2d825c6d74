"""HTTP plumbing the front ends share: ASGI types, the JSON response class, and the request-body limit."""

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
# An answer from a cache past its freshness, served while the database is down (RFC 8767's way, in HTTP).
STALE_WARNING = '110 - "Response is Stale"'


class JSONResponse(Response):
    """A JSON answer rendered with orjson; keys keep the order they were given in."""

    media_type = JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class BodyTooLarge(Exception):
    """The request body is larger than the node accepts."""


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the request header `name` (lower case)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class BodyLimit:
    """Refuses bodies over `max_bytes`: at once when Content-Length says so (answered by `refuse`), else by
    raising `BodyTooLarge` while the body is read."""

    def __init__(self, app: ASGIApp, max_bytes: int, refuse: Callable[[int], tuple[int, bytes]]) -> None:
        self._app = app
        self._max = max_bytes
        self._refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self._app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max:
            status, body = self._refuse(self._max)
            headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self._app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self._max:
                raise BodyTooLarge(f"the body is larger than {self._max} bytes")
            return message

        return counted
