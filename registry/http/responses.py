"""Handle REST answers: JSON bodies with a responseCode, rendered with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

JSON = "application/json"


class HandleJSONResponse(Response):
    """A JSON answer in the Handle REST shape; keys keep the order they were given in."""

    media_type = JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def answer(status: int, code: int, handle: str | None = None, message: str | None = None) -> Response:
    """`{"responseCode": code, "handle": …, "message": …}` with the given HTTP status."""
    body: dict[str, Any] = {"responseCode": code}
    if handle is not None:
        body["handle"] = handle
    if message is not None:
        body["message"] = message
    return HandleJSONResponse(body, status_code=status)
