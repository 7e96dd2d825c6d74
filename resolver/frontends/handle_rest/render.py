"""Handle REST answers to resolutions: the view kept with cached answers, and the finished replies.

The view is the JSON array of the record's public values; a GET's answer splices it between the handle as
requested and the closing brace, so a hot hit costs no JSON encoding at all. An authenticated reader that the
record shares more with (`Answer.readable`) is shown those values too, encoded for its request alone: what
only some readers may see is never kept with the cached answer, so it cannot reach anyone else.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import orjson

from registry.values import MAX_INDEX, decimal

from ...answer import Answer
from ...query import Query
from ..http import STALE_WARNING
from .codes import HANDLE_NOT_FOUND, SUCCESS, VALUES_NOT_FOUND

_CALLBACK = re.compile(r"[A-Za-z_$][\w$.]{0,63}\Z", re.ASCII)  # as the OpenAPI document says: ASCII \w
_TRUE = ("", "true", "yes", "1")


class PublicValues:
    """The view of an answer every anonymous Handle REST GET sends: the values anyone may read."""

    key = "handle_rest"

    def render(self, answer: Answer) -> bytes:
        return answer.public_record()


PUBLIC_VALUES = PublicValues()


class GetParams:
    """A GET's parameters as the Handle REST API defines them (others are ignored, as the server does)."""

    __slots__ = ("callback", "cert", "follow", "indexes", "pretty", "types")

    def __init__(self, query_string: bytes) -> None:
        self.indexes: list[int] = []
        self.types: list[str] = []
        self.pretty = False
        self.cert = False  # a signed answer wanted
        # Whether the node follows referrals itself, resolving a handle living elsewhere there (doNotRefer: it
        # answers with the referral instead, for the client to follow).
        self.follow = True
        self.callback: str | None = None
        if query_string:
            self._parse(query_string.decode("latin-1"))

    def _parse(self, text: str) -> None:
        for key, value in parse_qsl(text, keep_blank_values=True):
            if key == "index":
                index = decimal(value)
                if index is None or not 0 < index <= MAX_INDEX:
                    raise ValueError(f"index {value!r} is not a positive integer")
                self.indexes.append(index)
            elif key == "type":
                self.types.append(value)
            elif key == "pretty":
                self.pretty = value.lower() in _TRUE
            elif key == "cert":
                self.cert = value.lower() in _TRUE
            elif key == "doNotRefer":
                self.follow = value.lower() not in _TRUE
            elif key == "callback":
                if not _CALLBACK.match(value):
                    raise ValueError("callback must be a JavaScript identifier")
                self.callback = value


def _dumps(body: dict[str, Any], params: GetParams) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_INDENT_2 if params.pretty else 0)


def not_found(requested: str, params: GetParams) -> bytes:
    return _dumps({"responseCode": HANDLE_NOT_FOUND, "handle": requested}, params)


def found(requested: str, answer: Answer, query: Query, params: GetParams) -> tuple[int, bytes]:
    """The status and body of the GET answer of a handle that exists."""
    if not (query.filtered or params.pretty):
        # The view of an all-public record is the record itself: no lookup among the renderings for it.
        if answer.public:
            values = answer.record
        elif query.reader is None or (shown := answer.readable(query)) is None:
            values = answer.rendered(PUBLIC_VALUES)
        else:
            values = orjson.dumps(shown)
        return 200, b'{"responseCode":1,"handle":' + orjson.dumps(requested) + b',"values":' + values + b"}"
    selected = answer.select(query)
    if not selected:  # the Handle.Net server's order for this answer: the handle last
        return 200, _dumps({"responseCode": VALUES_NOT_FOUND, "values": [], "handle": requested}, params)
    return 200, _dumps({"responseCode": SUCCESS, "handle": requested, "values": selected}, params)


class Reply:
    """A finished GET answer: status, body (JSON or JSONP) and whether it was served stale."""

    __slots__ = ("body", "media", "stale", "status")

    def __init__(
        self, status: int, body: bytes, params: GetParams | None = None, *, stale: bool = False
    ) -> None:
        self.status = status
        self.stale = stale
        if params is not None and params.callback:
            self.media, self.body = "application/javascript", params.callback.encode() + b"(" + body + b");"
        else:
            self.media, self.body = "application/json", body

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [(b"content-type", self.media.encode()), (b"content-length", str(len(self.body)).encode())]
        if self.status == 200:
            headers.append((b"vary", b"Accept-Encoding"))  # the edge compresses it for clients that ask
        if self.stale:
            headers.append((b"warning", STALE_WARNING.encode()))
        return headers
