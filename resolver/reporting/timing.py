"""Registrations timed for the daily monitoring: an ASGI wrapper around the application that times each
request creating or changing identifiers (Handle REST PUT, SNMS create and update, one or a batch) until its
answer starts, and tells `ResolutionStats.registered` — the front ends' routes stay as they are."""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

from ..frontends.http import ASGIApp, Message, Receive, Scope, Send
from .stats import ResolutionStats

_SNMS_WRITES = ("/identityv2/data", "/identityv2/data/batchCreate", "/identityv2/data/batchUpdate")


def is_registration(scope: Scope) -> bool:
    method, path = scope["method"], str(scope["path"])
    if method == "PUT" and path.startswith("/api/handles/"):
        return True
    return method in ("POST", "PUT") and path in _SNMS_WRITES


class RegistrationTimer:
    def __init__(self, app: ASGIApp, stats: Callable[[], ResolutionStats]) -> None:
        self._app = app
        self._stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_registration(scope) or not self._stats().counting:
            await self._app(scope, receive, send)
            return
        started = perf_counter()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                # An SNMS answer is 200 with its own status inside: taken unless the HTTP status says not.
                self._stats().registered(int(message["status"]) < 400, perf_counter() - started)
            await send(message)

        await self._app(scope, receive, sending)
