"""An answer in the native protocol's terms: its values in their binary form, encoded once per cached entry.

The store keeps values in the Handle System's JSON form; the binary form is made from it here, with the node's
own rules for the data the JSON form types (`key`: a JWK, in the Handle System's key encoding). A value whose
data has no binary form here (a key type the Handle System cannot encode) goes out as the UTF-8 of its JSON
data rather than failing the whole resolution.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import orjson

from registry import pubkeys
from sdk.native import values as native
from sdk.native.wire import WireError

from ...answer import Answer


def key_bytes(jwk: Any) -> bytes:
    """HS_PUBKEY data: the Handle System's encoding of a JWK's key (RSA, DSA, Ed25519)."""
    encoded = pubkeys.handle_encoding(jwk)
    return orjson.dumps(jwk) if encoded is None else encoded


def binary(value: dict[str, Any]) -> native.Value:
    try:
        return native.from_json(value, key_bytes)
    except WireError:
        shell = native.from_json({**value, "data": ""})
        return replace(shell, data=orjson.dumps(value.get("data")))


def encoded(values: Iterable[dict[str, Any]]) -> bytes:
    """A value count, then the values, in the binary form."""
    return native.encode_values([binary(value) for value in values])


class NativeValues:
    """The public values of an answer, encoded: what every anonymous RESOLUTION of the handle gets."""

    key = "native"

    def render(self, answer: Answer) -> bytes:
        return encoded(answer.public_values())


NATIVE_VALUES = NativeValues()
