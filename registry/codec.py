"""The Handle REST JSON form of values: parsing what clients send, encoding what is stored and served.

Stored records hold their values as the JSON array that GET answers carry, so the read path can send them
without re-encoding.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from . import pubkeys
from .errors import InvalidValue
from .values import (
    DEFAULT_TTL,
    HS_PUBKEY,
    AdminData,
    Base64Data,
    Data,
    HandleValue,
    HexData,
    JsonValue,
    KeyData,
    OpaqueData,
    Reference,
    StringData,
    VListData,
    check_readers,
    decimal,
    parse_time,
)

OPAQUE_FORMATS = frozenset({"site"})
# Formats whose value is not touched by `whole_numbers`: kept as sent (`site`), or all text (`key`, a JWK).
_AS_SENT = OPAQUE_FORMATS | {"key"}


def _reference(obj: JsonValue) -> Reference:
    if not isinstance(obj, dict):
        raise InvalidValue("a reference is an object with handle and index")
    index = obj.get("index", 0)
    if isinstance(index, str):
        index = decimal(index)
    if not isinstance(index, int) or isinstance(index, bool):
        raise InvalidValue("a reference's index must be an integer")
    return Reference(obj.get("handle"), index)  # type: ignore[arg-type]  # checked by Reference


def _admin(value: JsonValue) -> AdminData:
    if not isinstance(value, dict):
        raise InvalidValue("admin data is an object with handle, index and permissions")
    ref = _reference(value)
    return AdminData(ref.handle, ref.index, value.get("permissions", "011111110011"))


def _vlist(value: JsonValue) -> VListData:
    if not isinstance(value, list):
        raise InvalidValue("vlist data is a list of references")
    return VListData(tuple(_reference(item) for item in value))


def _text(value: JsonValue, fmt: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{fmt} data must be a JSON string")
    return value


def _key(value: JsonValue, *, stored: bool) -> KeyData | OpaqueData:
    try:
        return KeyData(pubkeys.from_jwk(value))
    except InvalidValue:
        if stored:  # kept before the node read keys: still served as it was sent
            return OpaqueData("key", value)
        raise


def data_from_json(data: JsonValue, *, stored: bool = False) -> Data:
    """Data as a bare string, or `{"format": …, "value": …}`; `stored`: as the node stored it."""
    if isinstance(data, str):
        return StringData(data)
    if not isinstance(data, dict) or "value" not in data:
        raise InvalidValue("data is a string or an object with format and value")
    fmt, value = data.get("format", "string"), data["value"]
    if not isinstance(fmt, str):
        raise InvalidValue("data's format must be a string")
    if fmt == "string":
        return StringData(_text(value, fmt))
    if fmt == "base64":
        return Base64Data(_text(value, fmt))
    if fmt == "hex":
        return HexData(_text(value, fmt))
    if fmt == "admin":
        return _admin(value)
    if fmt == "vlist":
        return _vlist(value)
    if fmt == "key":
        return _key(value, stored=stored)
    if fmt in OPAQUE_FORMATS:
        return OpaqueData(fmt, value)
    raise InvalidValue(f"unknown data format {fmt!r}")


def _ttl(obj: dict[str, Any]) -> tuple[int, bool]:
    ttl = obj.get("ttl")
    if ttl is None:
        return DEFAULT_TTL, False
    if isinstance(ttl, str):
        seconds = decimal(ttl)
        return (seconds, False) if seconds is not None else (parse_time(ttl), True)
    if not isinstance(ttl, int) or isinstance(ttl, bool):
        raise InvalidValue("ttl is a number of seconds or an absolute time")
    return ttl, False


def _binary_key(data: Data) -> Data:
    """HS_PUBKEY data sent in its binary form (base64 or hex), as the key it holds: the Handle.Net server
    keeps the bytes and serves them as a JWK; other bytes stay as they came."""
    try:
        if isinstance(data, Base64Data):
            return KeyData(pubkeys.from_bytes(base64.b64decode(data.value)))
        if isinstance(data, HexData):
            return KeyData(pubkeys.from_bytes(bytes.fromhex(data.value)))
    except InvalidValue:
        pass
    return data


def value_from_json(obj: JsonValue, *, stored: bool = False) -> HandleValue:
    """One value; the timestamp a client sends is ignored, as the node stamps what it stores. `stored`: a
    value as the node stored it (its timestamp kept)."""
    if not isinstance(obj, dict):
        raise InvalidValue("a value is a JSON object")
    if "index" not in obj or "type" not in obj or "data" not in obj:
        raise InvalidValue("a value needs index, type and data")
    index = obj["index"]
    if isinstance(index, str):
        index = decimal(index)  # None fails the index check below
    ttl, absolute = _ttl(obj)
    data = data_from_json(obj["data"], stored=stored)
    if obj["type"] == HS_PUBKEY and not stored:
        data = _binary_key(data)
    stamp = obj.get("timestamp")
    references = obj.get("references") or ()
    if not isinstance(references, list | tuple):
        raise InvalidValue("references is a list")
    readers = obj.get("readers")  # null is "not restricted"; an empty list is refused (check_readers)
    return HandleValue(
        index=index,
        type=obj["type"],
        data=data,
        ttl=ttl,
        ttl_absolute=absolute,
        timestamp=parse_time(stamp) if stored and isinstance(stamp, str) else 0,
        permissions=obj.get("permissions", "1110"),
        references=tuple(_reference(ref) for ref in references),
        readers=() if readers is None else check_readers(readers),
    )


def values_from_json(items: Iterable[JsonValue]) -> list[HandleValue]:
    """A list of values, each error naming the value's position; indexes must be unique."""
    values: list[HandleValue] = []
    seen: set[int] = set()
    for position, item in enumerate(items):
        try:
            value = value_from_json(item)
        except InvalidValue as exc:
            raise InvalidValue(f"value {position}: {exc.message}") from None
        if value.index in seen:
            raise InvalidValue(f"value {position}: index {value.index} appears twice")
        seen.add(value.index)
        values.append(value)
    return values


def whole_numbers(body: JsonValue) -> JsonValue:
    """`body` with its whole numbers spelled as floats (`2.0`) made integers: JSON does not tell `2.0` from
    `2`, and indexes and TTLs are integers. The value of data in a format kept as sent (`site`) or all text
    (`key`) is left as it came."""
    if isinstance(body, float) and body.is_integer():
        return int(body)
    if isinstance(body, list):
        return [whole_numbers(item) for item in body]
    if isinstance(body, dict):
        fmt = body.get("format")
        opaque = isinstance(fmt, str) and fmt in _AS_SENT
        return {key: item if opaque and key == "value" else whole_numbers(item) for key, item in body.items()}
    return body


def parse_body(body: JsonValue) -> tuple[str | None, list[HandleValue]]:
    """A PUT body: an array of values, `{"values": […], "handle": …}`, or a single value."""
    body = whole_numbers(body)
    if isinstance(body, list):
        return None, values_from_json(body)
    if isinstance(body, dict) and "values" in body:
        handle = body.get("handle")
        if handle is not None and not isinstance(handle, str):
            raise InvalidValue("handle must be a string")
        if not isinstance(body["values"], list):
            raise InvalidValue("values must be a list")
        return handle, values_from_json(body["values"])
    if isinstance(body, dict):
        return None, values_from_json([body])
    raise InvalidValue("the body is a list of values or an object holding them")


def encode_values(values: Sequence[HandleValue], timestamp: str | None = None) -> bytes:
    """The stored (and served) JSON array of a record's values, ordered by index."""
    ordered = sorted(values, key=lambda v: v.index)
    return orjson.dumps([value.to_json(timestamp) for value in ordered])


def decode_values(raw: bytes | str) -> list[HandleValue]:
    """Stored values back into typed values (for authorisation and merges)."""
    return [value_from_json(item, stored=True) for item in orjson.loads(raw)]
