"""The native protocol over HTTP: `POST` (to `/` or `/<handle>`) with `Content-Type:
application/x-hdl-message`, the body one framed message, answered with the framed answer (HTTP 200, the same
content type) — how Handle clients get through proxies that pass only HTTP. Everything else goes to `app`."""

from __future__ import annotations

from sdk.native.codes import ENVELOPE_SIZE, MAX_MESSAGE
from sdk.native.message import Envelope
from sdk.native.wire import WireError

from ..http import ASGIApp, Receive, Scope, Send, header
from .handler import Responder
from .lane import HotLane
from .request import refusal

MEDIA = b"application/x-hdl-message"


def tunnelled(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST":
        return False
    media = header(scope, b"content-type")
    return media is not None and media.split(b";")[0].strip().lower() == MEDIA


class NativeTunnel:
    def __init__(self, app: ASGIApp, responder: Responder, lane: HotLane) -> None:
        self._app = app
        self._responder = responder
        self._lane = lane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not tunnelled(scope):
            await self._app(scope, receive, send)
            return
        body = await _body(receive, ENVELOPE_SIZE + MAX_MESSAGE)
        answer = await self._answer(body)
        headers = [(b"content-type", MEDIA), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _answer(self, body: bytes) -> bytes:
        framed = self._lane.answer(body)
        if framed is not None:
            return framed
        try:
            envelope = Envelope.decode(body)
            raw = body[ENVELOPE_SIZE:]
            if len(raw) != envelope.length:
                raise WireError(f"the envelope says {envelope.length} bytes of message, {len(raw)} there")
        except WireError as exc:
            return refusal(body[:ENVELOPE_SIZE], exc)
        reply = self._responder.respond(envelope, raw, streams=True)
        if reply is None:
            return b""
        return reply if isinstance(reply, bytes) else await reply


async def _body(receive: Receive, limit: int) -> bytes:
    """The request's body, or its first `limit + 1` bytes when it is longer (enough to refuse it)."""
    parts, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        parts.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body", False):
            return b"".join(parts)[: limit + 1]
