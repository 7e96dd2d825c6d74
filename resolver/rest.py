"""The Handle REST GET front end: a lean ASGI lane in front of the FastAPI app.

Resolutions are the node's hot path, so `GET /api/handles/{handle}` is answered here without validation
models, dependency injection or JSON re-encoding: the record's public values are spliced into the answer
as the store (or cache) holds them. Everything else passes through to the FastAPI app.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import orjson

from registry import Handle, InvalidHandle
from registry.values import decimal

from .answer import Answer
from .pipeline import Stage, StoreUnavailable

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("idnode.resolver")

PREFIX = "/api/handles/"
_RAW_PREFIX = PREFIX.encode()
_CALLBACK = re.compile(r"[A-Za-z_$][\w$.]{0,63}\Z")
_TRUE = ("", "true", "yes", "1")


class Query:
    """A GET's parameters as the Handle REST API defines them."""

    __slots__ = ("callback", "indexes", "pretty", "types")

    def __init__(self, query_string: bytes) -> None:
        self.indexes: list[int] = []
        self.types: list[str] = []
        self.pretty = False
        self.callback: str | None = None
        if query_string:
            self._parse(query_string.decode("latin-1"))

    def _parse(self, text: str) -> None:
        for key, value in parse_qsl(text, keep_blank_values=True):
            if key == "index":
                index = decimal(value)
                if index is None:
                    raise ValueError(f"index {value!r} is not a positive integer")
                self.indexes.append(index)
            elif key == "type":
                self.types.append(value)
            elif key == "pretty":
                self.pretty = value.lower() in _TRUE
            elif key == "callback":
                if not _CALLBACK.match(value):
                    raise ValueError("callback must be a JavaScript identifier")
                self.callback = value


def _requested(scope: Scope) -> str:
    """The handle as requested, percent-decoded as UTF-8 (strictly: bad bytes are a bad handle)."""
    raw = scope.get("raw_path")
    if not raw:
        return str(scope["path"])[len(PREFIX) :]
    try:
        return unquote_to_bytes(raw.partition(b"?")[0][len(_RAW_PREFIX) :]).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidHandle("the handle is not UTF-8") from None


def _dumps(body: dict[str, Any], query: Query) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_INDENT_2 if query.pretty else 0)


def render(requested: str, answer: Answer | None, query: Query) -> tuple[int, bytes]:
    """The status and body of a GET answer."""
    handle_json = orjson.dumps(requested)
    if answer is None:
        return 404, _dumps({"responseCode": 100, "handle": requested}, query)
    if not (query.indexes or query.types):
        if not query.pretty:
            return (
                200,
                b'{"responseCode":1,"handle":' + handle_json + b',"values":' + answer.encoded + b"}",
            )
        values = answer.values
    else:
        values = answer.select(query.indexes, query.types)
    code = 1 if values else 200
    return 200, _dumps({"responseCode": code, "handle": requested, "values": values}, query)


def error_body(code: int, requested: str | None, message: str) -> bytes:
    body: dict[str, Any] = {"responseCode": code}
    if requested is not None:
        body["handle"] = requested
    body["message"] = message
    return orjson.dumps(body)


STALE_WARNING = '110 - "Response is Stale"'


class Reply:
    """A finished GET answer: status, body (JSON or JSONP) and whether it was served stale."""

    __slots__ = ("body", "media", "stale", "status")

    def __init__(self, status: int, body: bytes, query: Query | None = None, *, stale: bool = False) -> None:
        self.status = status
        self.stale = stale
        if query is not None and query.callback:
            self.media, self.body = "application/javascript", query.callback.encode() + b"(" + body + b");"
        else:
            self.media, self.body = "application/json", body

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-type", self.media.encode()),
            (b"content-length", str(len(self.body)).encode()),
            (b"access-control-allow-origin", b"*"),
        ]
        if self.stale:
            # The database is down and this answer comes from a cache past its freshness (RFC 8767's way).
            headers.append((b"warning", STALE_WARNING.encode()))
        return headers


class HandleRestLane:
    """Answers anonymous `GET /api/handles/{handle}`; passes everything else to `app`."""

    def __init__(self, app: ASGIApp, pipeline: Callable[[], Stage]) -> None:
        self._app = app
        self._pipeline = pipeline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX):
            reply = await self.answer(scope)
            await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers()})
            await send({"type": "http.response.body", "body": reply.body})
        else:
            await self._app(scope, receive, send)

    async def answer(self, scope: Scope) -> Reply:
        """The reply to the GET in `scope`."""
        requested: str | None = None
        try:
            query = Query(scope["query_string"])
        except ValueError as exc:
            return Reply(400, error_body(4, None, str(exc)))
        try:
            requested = _requested(scope)
            name = str(Handle.parse(requested))
        except InvalidHandle as exc:
            return Reply(400, error_body(102, requested, exc.message), query)
        try:
            answer = await self._pipeline().resolve(name)
        except StoreUnavailable as exc:
            return Reply(503, error_body(3, requested, str(exc)), query)
        except Exception:  # a bug: still an answer in the dialect's terms, and a trace in the log
            log.exception("resolving %s failed", name)
            return Reply(500, error_body(2, requested, "internal error"), query)
        status, body = render(requested, answer, query)
        return Reply(status, body, query, stale=answer is not None and answer.stale)
