"""Query parameters and bodies as the Handle REST API spells them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request

from registry import InvalidInput, InvalidValue
from registry.values import decimal

from ..http import JSON


class HandleConvertor(Convertor[str]):
    """`{handle:handle}` in a route: the rest of the path, line breaks included. (Starlette's `path` stops at
    one, so that a PUT or DELETE of a handle holding one missed its route; it is a bad handle, 400.)"""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("handle", HandleConvertor())


def flag(value: str | None, *, default: bool = False) -> bool:
    """A boolean parameter: true when present bare (`?pretty`) or `true`/`yes` in any case."""
    if value is None:
        return default
    return value == "" or value.lower() in ("true", "yes", "1")


def indexes(values: Sequence[str]) -> list[int]:
    """Repeated `index=N` parameters as integers."""
    out = []
    for text in values:
        index = decimal(text)
        if index is None or not 0 < index < 2**31:
            raise InvalidValue(f"index {text!r} is not a positive integer")
        out.append(index)
    return out


def non_negative(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    number = decimal(value, max_digits=9)
    if number is None:
        raise InvalidInput(f"{name} must be a non-negative integer below 10⁹")
    return number


async def json_body(request: Request) -> Any:
    """The request's JSON body; it must be sent as `application/json`."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != JSON:
        raise InvalidInput("the body must be sent as Content-Type: application/json")
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
