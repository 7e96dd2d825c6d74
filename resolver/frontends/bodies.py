"""Request bodies, guarded: read up to a size and a time limit, and a client that goes away is one log line.

- Size: a body declared (Content-Length) larger than `max_bytes` is refused before it is read; one that
  grows larger while it is read (chunked) is refused there.
- Time: the whole body must arrive within `timeout` seconds of its request's headers: a deadline, not a gap
  between chunks, since a client trickling a byte a second is a slowloris on the body. (The server, granian,
  times out the headers but not the body.)
- A refusal (413, 408) is answered here in the dialect of the path (`refuse`), with `Connection: close`, so
  that the rest of the body is never read. Whatever the application made of its aborted read (FastAPI's 400
  for a body it could not parse, an SNMS envelope) is dropped for it: a front end only sees to it that the
  read is not logged as a failure of its own (`BodyRefused`, `ClientDisconnect`).
- A client that disconnects before its body has arrived, or while its answer is sent, is logged in one line
  (method, path, peer) without a traceback, and nothing more is sent to it; so is a body that timed out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.requests import ClientDisconnect

from .http import (
    JSON,
    ASGIApp,
    BodyRefused,
    BodyTimedOut,
    BodyTooLarge,
    Message,
    Receive,
    Scope,
    Send,
    header,
)

log = logging.getLogger("idnode.http")

Refuse = Callable[[Scope, BodyRefused], tuple[int, bytes]]
# What a server's `send` may raise once the client has gone (granian drops such answers silently instead).
SEND_FAILURES = (OSError,)


def _peer(scope: Scope) -> str:
    host, port = scope.get("client") or ("?", "?")
    return f"{host}:{port}"


def client_gone(scope: Scope, what: str) -> None:
    """The one log line for a client that went away (a warning: the root logger shows those under granian)."""
    log.warning("client %s went away %s: %s %r", _peer(scope), what, scope.get("method"), scope.get("path"))


class _Exchange:
    """One request as the guard sees it: how much body came, whether all of it, and what went wrong."""

    __slots__ = ("deadline", "done", "gone", "refused", "seen", "started")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.seen = 0
        self.done = False
        self.started = False
        self.refused: BodyRefused | None = None
        self.gone: str | None = None


class BodyGuard:
    """Guards the body of every request sent to `app` (the edge sends only those that may have one)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float, refuse: Refuse) -> None:
        self._app = app
        self._max = max_bytes
        self._timeout = timeout
        self._refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max:
            await self._answer(scope, send, BodyTooLarge(self._max))
            return
        exchange = _Exchange(asyncio.get_running_loop().time() + self._timeout)
        try:
            await self._app(scope, self._reading(receive, exchange), self._sending(send, exchange))
        except BodyRefused as exc:  # not caught by the application: answered all the same
            exchange.refused = exchange.refused or exc
        except ClientDisconnect:
            exchange.gone = exchange.gone or "before its body arrived"
        if exchange.gone is not None:
            client_gone(scope, exchange.gone)
        elif exchange.refused is not None and not exchange.started:
            if isinstance(exchange.refused, BodyTimedOut):  # a slow client, or a slowloris on the body
                log.warning(
                    "client %s was too slow: %s: %s %r",
                    _peer(scope),
                    exchange.refused.message,
                    scope.get("method"),
                    scope.get("path"),
                )
            await self._answer(scope, send, exchange.refused)

    def _reading(self, receive: Receive, exchange: _Exchange) -> Receive:
        async def read() -> Message:
            if exchange.done:  # the body is in: waiting for a disconnect has no deadline
                return await receive()
            try:
                async with asyncio.timeout_at(exchange.deadline):
                    message = await receive()
            except TimeoutError:
                exchange.refused = BodyTimedOut(self._timeout)
                raise exchange.refused from None
            if message["type"] == "http.disconnect":
                exchange.done = True
                exchange.gone = "before its body arrived"
                return message
            exchange.seen += len(message.get("body", b""))
            if exchange.seen > self._max:
                exchange.refused = BodyTooLarge(self._max)
                raise exchange.refused
            exchange.done = not message.get("more_body", False)
            return message

        return read

    @staticmethod
    def _sending(send: Send, exchange: _Exchange) -> Send:
        async def write(message: Message) -> None:
            if exchange.refused is not None or exchange.gone is not None:
                return  # the guard answers a refusal itself; nobody is there to read anything else
            if message["type"] == "http.response.start":
                exchange.started = True
            try:
                await send(message)
            except SEND_FAILURES as exc:
                exchange.gone = f"while its answer was sent ({exc})"

        return write

    async def _answer(self, scope: Scope, send: Send, refused: BodyRefused) -> None:
        status, body = self._refuse(scope, refused)
        headers = [
            (b"content-type", JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the rest of the body is not read
        ]
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        except SEND_FAILURES as exc:
            client_gone(scope, f"before its refusal was sent ({exc})")
