"""The Handle REST GET front end: a lean ASGI lane in front of the FastAPI app.

Resolutions are the node's hot path, so an anonymous `GET /api/handles/{handle}` is answered here without
validation models, dependency injection or JSON re-encoding: the rendering kept with the cached answer is
spliced into the reply. Everything else passes through to the application behind — a GET that carries an
`Authorization` header too (the edge in front, which reads the headers once, marks it so): its route
authenticates the reader (whatever the scheme, `auth.authenticate`) and comes back to
`HandleRestLane.answer` with it, to be shown what the record shares with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter
from urllib.parse import unquote_to_bytes

from registry import Handle, InvalidHandle, RegistryError
from registry.visibility import Reader

from ...pipeline import NotHomed, StoreUnavailable
from ...query import DEFAULT_BUDGET, Query
from ..context import Context
from ..http import AUTHORIZATION_SENT, RECURSION_COUNT, ASGIApp, Receive, Scope, Send
from . import render
from .codes import ERROR, INVALID_HANDLE, PROTOCOL_ERROR, SERVER_BUSY, failure, registry_failure
from .render import GetParams, Reply
from .signed import signed_reply

log = logging.getLogger("idnode.handle_rest")

PREFIX = "/api/handles/"
_RAW_PREFIX = PREFIX.encode()


def requested_handle(scope: Scope) -> str:
    """The handle as requested, percent-decoded as UTF-8 (strictly: bad bytes are a bad handle)."""
    raw = scope.get("raw_path")
    if not raw:
        return str(scope["path"])[len(PREFIX) :]
    try:
        return unquote_to_bytes(raw.partition(b"?")[0][len(_RAW_PREFIX) :]).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidHandle("the handle is not UTF-8") from None


# Handles asked for lately, parsed: the hot set is asked for again and again, and a parse costs more than the
# rest of a cache hit. Bounded: a flood of distinct names empties it rather than growing it.
_PARSED: dict[str, Handle] = {}
_PARSED_MAX = 16_384


def parse_requested(text: str) -> Handle:
    """The handle a request names. As the Handle.Net server does, a name without a slash is a prefix, asked
    for as its prefix handle (`88.118.8` is `0.NA/88.118.8`); one that cannot be a prefix lives nowhere."""
    handle = _PARSED.get(text)
    if handle is not None:
        return handle
    if "/" in text:
        handle = Handle.parse(text)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[text] = handle
        return handle
    if not text:
        raise InvalidHandle("Empty handle invalid")
    try:
        return Handle.parse(f"0.NA/{text}")
    except InvalidHandle:
        raise NotHomed(handle=text) from None


def budget_of(scope: Scope) -> int:
    """How many more nodes the query may pass through: the default, less those it passed through already."""
    passed = scope.get(RECURSION_COUNT)
    if passed is None:
        return DEFAULT_BUDGET
    text = passed.decode("latin-1") if isinstance(passed, bytes) else str(passed)
    return DEFAULT_BUDGET - int(text) if text.isdigit() and len(text) < 4 else 0


def _failed(code: int, requested: str | None, message: str, params: GetParams | None = None) -> Reply:
    status, body = failure(code, requested, message)
    return Reply(status, body, params)


class HandleRestLane:
    """Answers anonymous `GET /api/handles/{handle}`; passes everything else to `app`, authenticated GETs
    included."""

    def __init__(self, app: ASGIApp, context: Callable[[], Context]) -> None:
        self._app = app
        self._context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith(PREFIX)
            and AUTHORIZATION_SENT not in scope  # the edge read the headers: no Authorization header
        ):
            reply = await self.answer(scope)
            await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers()})
            await send({"type": "http.response.body", "body": reply.body})
        else:
            await self._app(scope, receive, send)

    async def answer(self, scope: Scope, reader: Reader | None = None) -> Reply:
        """The reply to the GET in `scope`, shown to `reader` (None: an anonymous caller)."""
        requested: str | None = None
        try:
            params = GetParams(scope["query_string"])
        except ValueError as exc:
            return _failed(PROTOCOL_ERROR, None, str(exc))
        try:
            requested = requested_handle(scope)
            handle = parse_requested(requested)
        except InvalidHandle as exc:
            return Reply(400, failure(INVALID_HANDLE, requested, exc.message)[1], params)
        except NotHomed as exc:
            return Reply(*registry_failure(exc, requested), params)
        context = self._context()
        query = Query(
            handle, context.naming, indexes=params.indexes, types=params.types, signature=params.cert,
            reader=reader, recurse=params.follow,
            budget=DEFAULT_BUDGET if RECURSION_COUNT not in scope else budget_of(scope),
        )  # fmt: skip
        started = perf_counter()
        try:
            answer = await context.pipeline.resolve(query)
        except StoreUnavailable as exc:
            return _failed(SERVER_BUSY, requested, str(exc), params)
        except RegistryError as exc:
            return Reply(*registry_failure(exc, requested), params)
        except Exception:  # a bug: still an answer in the dialect's terms, and a trace in the log
            log.exception("resolving %s failed", query.key)
            return _failed(ERROR, requested, "internal error", params)
        stats = context.stats
        if stats.counting:  # a node without a parent counts nothing: not even the source is read
            stats.seen(
                handle.prefix, context.throttle.source_of(scope), answer is not None, perf_counter() - started
            )
        if params.cert:  # asked for by name only: the unsigned answers below pay nothing for it
            if answer is not None and answer.signed is not None and not query.filtered:
                return Reply(200, answer.signed, params)  # resolved elsewhere: the origin's signature
            return await signed_reply(requested, answer, query, params, context.signer)
        if answer is None:
            return Reply(404, render.not_found(requested, params), params)
        status, body = render.found(requested, answer, query, params)
        return Reply(status, body, params, stale=answer.stale)
