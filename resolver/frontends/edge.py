"""What every HTTP answer of the node goes through, as the Handle.Net server's servlet container does it:
CORS, HEAD, gzip and the request-body limit — in one layer that reads the request's headers once, so that a
plain GET (the hot path) pays one function call for all of it.

- CORS: any origin may call (no credentials, so no cross-site request forgery): a preflight is answered
  here (200, the origin echoed, the methods and headers allowed, a day's max-age); other answers to a request
  with an `Origin` carry it back, with `Vary: Origin`.
- HEAD: answered as the GET would be, with the GET's headers (its uncompressed length) and no body.
- gzip: a successful GET answer of 32 bytes or more is compressed when the client accepts gzip; every
  successful GET answer says `Vary: Accept-Encoding`. A hot answer is compressed once, not on every hit
  (`Compressed`).
- Request bodies: larger than `max_bytes` (413) or slower than `body_timeout` (408) are refused, and a
  client that goes away is one log line (`bodies.BodyGuard`). GET and HEAD have no body to guard (granian
  drops an answer to a client that has gone without a word).
- A request carrying an `Authorization` header is marked so in its scope (`AUTHORIZATION_SENT`), so that the
  GET lane behind need not read the headers again to know whether it may answer it as an anonymous one.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

from .bodies import BodyGuard, Refuse
from .http import AUTHORIZATION_SENT, RECURSION_COUNT, ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS = b"GET,POST,HEAD,PUT,DELETE"
ALLOWED_HEADERS = b"X-Requested-With,Authorization,Origin,Accept,Content-Type"
_ALLOWED_HEADER_NAMES = frozenset(ALLOWED_HEADERS.lower().split(b","))
MAX_AGE = b"86400"
MIN_GZIP_SIZE = 32
MEMO_ENTRIES = 4096  # compressed answers kept: about the L1 hot set, some 2 MB here
MEMO_MAX_BODY = 16_384  # larger answers are compressed each time (rare, and would crowd the memo)


def _accepts_gzip(value: bytes) -> bool:
    for part in value.lower().split(b","):
        coding, _, params = part.strip().partition(b";")
        if coding.strip() in (b"gzip", b"*"):
            q = params.strip()
            return not (q.startswith(b"q=") and _weight(q[2:]) == 0)
    return False


def _weight(q: bytes) -> float:
    """A `q` parameter's value; one that is not a number counts as 1 (RFC 9110 leaves it to the server)."""
    try:
        return float(q or 1)
    except ValueError:
        return 1.0


class Compressed:
    """gzip of answers, memoised by their bytes: a hot GET answer is the same bytes object on every hit (the
    rendering kept in L1, whose hash Python caches), so it is compressed once. Compressing every hit was a
    sixth of the event loop's work under supply_chain_day, more than serving the GETs themselves. The
    oldest entry goes first when the memo is full."""

    def __init__(self, entries: int = MEMO_ENTRIES, max_body: int = MEMO_MAX_BODY) -> None:
        self._memo: dict[bytes, bytes] = {}
        self._entries = entries
        self._max_body = max_body

    def __call__(self, body: bytes) -> bytes:
        found = self._memo.get(body)
        if found is None:
            found = gzip.compress(body, compresslevel=6, mtime=0)
            if len(body) <= self._max_body:
                if len(self._memo) >= self._entries:
                    del self._memo[next(iter(self._memo))]
                self._memo[body] = found
        return found


def _preflight_headers(origin: bytes, method: bytes, asked: bytes) -> list[tuple[bytes, bytes]]:
    names = {name.strip().lower() for name in asked.split(b",") if name.strip()}
    if method not in ALLOWED_METHODS.split(b",") or not names <= _ALLOWED_HEADER_NAMES:
        return []  # not allowed: an answer without CORS headers, which the browser refuses
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-max-age", MAX_AGE),
        (b"access-control-allow-methods", ALLOWED_METHODS),
        (b"access-control-allow-headers", ALLOWED_HEADERS),
    ]


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        body_timeout: float,
        refuse: Refuse,
        posted: ASGIApp | None = None,
    ) -> None:
        """`posted`, when given, takes the requests with a body (the native tunnel sits there, so that a
        GET does not pass through it)."""
        self._plain = app  # GET and HEAD have no body to guard: one call fewer on the hot path
        self._guarded = BodyGuard(posted or app, max_bytes, body_timeout, refuse)
        self._compressed = Compressed()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._plain(scope, receive, send)
            return
        origin = accept = preflight = asked = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"accept-encoding":
                accept = value
            elif name == b"access-control-request-method":
                preflight = value
            elif name == b"access-control-request-headers":
                asked = value
            elif name == b"authorization":
                scope[AUTHORIZATION_SENT] = True
            elif name == b"idnode-recursion-count":
                scope[RECURSION_COUNT] = value
        method = scope["method"]
        app = self._plain if method in ("GET", "HEAD") else self._guarded
        if method == "OPTIONS" and origin is not None and preflight is not None:
            await _answer_preflight(send, _preflight_headers(origin, preflight, asked or b""))
            return
        if origin is None and method != "HEAD" and (method != "GET" or accept is None):
            await app(scope, receive, send)
            return
        zipped = method == "GET" and accept is not None and _accepts_gzip(accept)
        if method == "HEAD":
            scope = dict(scope, method="GET")
        compress = self._compressed if zipped else None
        reply = _Reply(
            send, origin=origin, head=method == "HEAD", compress=compress, get=method in ("GET", "HEAD")
        )
        await app(scope, receive, reply)


async def _answer_preflight(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [*headers, (b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


class _Reply:
    """The answer on its way out, given what the request asked of the edge."""

    def __init__(
        self,
        send: Send,
        *,
        origin: bytes | None,
        head: bool,
        compress: Callable[[bytes], bytes] | None,
        get: bool,
    ) -> None:
        self._send = send
        self._origin = origin
        self._head = head
        self._compress = compress
        self._get = get
        self._start: Message | None = None
        self._body: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = dict(message, headers=self._headers(message))
            if not self._buffering:
                await self._send(self._start)
            return
        if message["type"] != "http.response.body" or not self._buffering:
            await self._send(dict(message, body=b"") if self._head else message)
            return
        self._body.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self._finish()

    @property
    def _buffering(self) -> bool:
        return self._compress is not None and self._start is not None and 200 <= self._start["status"] < 300

    def _headers(self, start: Message) -> list[tuple[bytes, bytes]]:
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"access-control-allow-origin"]
        if self._origin is not None:
            headers += [
                (b"access-control-allow-origin", self._origin),
                (b"access-control-expose-headers", b"Content-Length"),
                (b"vary", b"Origin"),
            ]
        varies = any(k == b"vary" and v == b"Accept-Encoding" for k, v in headers)
        if self._get and 200 <= start["status"] < 300 and not self._head and not varies:
            headers.append((b"vary", b"Accept-Encoding"))
        return headers

    async def _finish(self) -> None:
        assert self._start is not None
        body = b"".join(self._body)
        headers = self._start["headers"]
        if (
            self._compress is not None
            and len(body) >= MIN_GZIP_SIZE
            and not any(k == b"content-encoding" for k, _ in headers)
        ):
            body = self._compress(body)
            headers = [(k, v) for k, v in headers if k != b"content-length"]
            headers += [(b"content-encoding", b"gzip"), (b"content-length", str(len(body)).encode())]
        await self._send(dict(self._start, headers=headers))
        await self._send({"type": "http.response.body", "body": body})
