"""Handle values: the typed, indexed entries of a record.

A value has an index, a type, data in one of the Handle System's formats, a TTL, a timestamp, four permission
bits and references to other values, and — idnode's extension — `readers`: the enterprise prefixes a value is
shared with (a chain leader's drawing number for its tier-1 suppliers only; `visibility.py` says who reads
what). Data formats are small classes found by name in `DATA_FORMATS`; the one format this node does not
interpret yet (`site`) keeps its JSON as it came.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import enum
import time
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from . import pubkeys
from .errors import InvalidHandle, InvalidValue
from .handle import normalise_prefix

JsonValue: TypeAlias = Any  # what orjson produces and accepts

# Reserved indexes, as the Handle System and the node's conventions use them.
ADMIN_INDEX: Final = 100
VLIST_INDEX: Final = 200
KEY_INDEX: Final = 300
TEMPLATE_INDEX: Final = 1001
FIRST_BUSINESS_INDEX: Final = 2000

HS_ADMIN: Final = "HS_ADMIN"
HS_VLIST: Final = "HS_VLIST"
HS_SECKEY: Final = "HS_SECKEY"
HS_PUBKEY: Final = "HS_PUBKEY"
TEMPLATE: Final = "TEMPLATE"

MAX_INDEX: Final = 2**31 - 1
MAX_TTL: Final = 2**31 - 1
LAST_TIME: Final = 253_402_300_799  # 9999-12-31T23:59:59Z, the latest absolute TTL
MAX_TYPE_LENGTH: Final = 255
MAX_DATA_LENGTH: Final = 65_535
DEFAULT_TTL: Final = 86_400
DEFAULT_PERMISSIONS: Final = "1110"  # admin read, admin write, public read, no public write
# Enterprises a value may be shared with: a chain leader's tier-1 suppliers, not its whole supply base; at
# most 256 prefixes of 64 characters (≈ 17 KiB), well within what a value's data may hold already.
MAX_READERS: Final = 256
ALL_ADMIN_PERMISSIONS: Final = "111111111111"


class AdminPermission(enum.IntEnum):
    """The twelve permissions an HS_ADMIN value grants, numbered as the Handle System numbers its bits
    (CNRI's `AdminRecord`, RFC 3651 section 3.2.2; the native protocol's mask is `1 << bit`).

    The JSON text writes bit 11 first, so `"011111110011"` grants everything but listing and derived prefixes,
    and `"000001110000"` only adding, removing and modifying (non-admin) values.
    """

    ADD_HANDLE = 0
    DELETE_HANDLE = 1
    ADD_DERIVED_PREFIX = 2
    DELETE_DERIVED_PREFIX = 3
    MODIFY_VALUE = 4
    REMOVE_VALUE = 5
    ADD_VALUE = 6
    MODIFY_ADMIN = 7
    REMOVE_ADMIN = 8
    ADD_ADMIN = 9
    READ_VALUE = 10
    LIST_HANDLES = 11

    @staticmethod
    def granted(permissions: str, bit: int) -> bool:
        return permissions[11 - bit] == "1"

    @classmethod
    def parse(cls, permissions: str) -> frozenset[AdminPermission]:
        """The permissions a 12-character permission text grants."""
        return frozenset(bit for bit in cls if permissions[11 - bit] == "1")

    @property
    def label(self) -> str:
        """`add admin`: how messages name the permission."""
        return self.name.lower().replace("_", " ")


def decimal(text: str, max_digits: int = 10) -> int | None:
    """The value of a short string of ASCII digits, else None (`"²".isdigit()` is true, but not a number)."""
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def publicly_readable(type_: str, permissions: str, readers: object = None) -> bool:
    """The one rule of every dialect for what anyone may read: a value whose permissions grant public read,
    unless it is shared with listed `readers` only (then the public is those enterprises), and never a
    secret key, which is sent to no one whatever its permissions say."""
    return type_ != HS_SECKEY and permissions[2] == "1" and not readers


def check_readers(readers: object) -> tuple[str, ...]:
    """A value's readers: one to MAX_READERS enterprise prefixes, upper-cased as prefixes are, each once.

    An empty list is refused rather than read as "no restriction": a client that meant "nobody" would
    otherwise publish the value. (A value only the record's administrators read clears its public-read bit.)
    """
    if not isinstance(readers, list | tuple) or not readers:
        raise InvalidValue("readers is a list of one or more enterprise prefixes")
    if len(readers) > MAX_READERS:
        raise InvalidValue(f"a value names at most {MAX_READERS} readers, not {len(readers)}")
    found: dict[str, None] = {}
    for prefix in readers:
        if not isinstance(prefix, str):
            raise InvalidValue("readers is a list of enterprise prefixes (strings)")
        try:
            found[normalise_prefix(prefix)] = None
        except InvalidHandle as exc:
            raise InvalidValue(f"reader {prefix!r}: {exc.message}") from None
    return tuple(found)


def render_time(epoch: int) -> str:
    """`yyyy-MM-ddTHH:mm:ssZ`, the Handle System's form of a time."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_time(text: str) -> int:
    """The epoch seconds of a `yyyy-MM-ddTHH:mm:ssZ` time."""
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except (ValueError, TypeError):
        raise InvalidValue(f"{text!r} is not a time of the form yyyy-MM-ddTHH:mm:ssZ") from None


def _check_index(index: object, what: str = "index") -> int:
    if isinstance(index, str):
        index = decimal(index)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 < index <= MAX_INDEX:
        raise InvalidValue(f"{what} must be an integer from 1 to {MAX_INDEX}")
    return index


def _check_bits(text: object, width: int, what: str) -> str:
    if not isinstance(text, str) or len(text) != width or text.strip("01"):
        raise InvalidValue(f"{what} must be {width} characters of 0 and 1")
    return text


@dataclass(frozen=True, slots=True)
class Reference:
    """A pointer to one value of another handle: `index:handle`."""

    handle: str
    index: int

    def __post_init__(self) -> None:
        if not isinstance(self.handle, str) or not self.handle or "/" not in self.handle:
            raise InvalidValue("a reference names a handle of the form prefix/suffix")
        # An index of 0 means "any index" in HS_ADMIN and HS_VLIST references.
        if self.index != 0:
            _check_index(self.index, "a reference's index")

    def to_json(self) -> dict[str, JsonValue]:
        return {"handle": self.handle, "index": self.index}


@dataclass(frozen=True, slots=True)
class StringData:
    value: str
    format: str = field(default="string", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise InvalidValue("string data must be text")
        if len(self.value) > MAX_DATA_LENGTH:
            raise InvalidValue(f"data is longer than {MAX_DATA_LENGTH} characters")

    def to_json(self) -> JsonValue:
        return self.value


@dataclass(frozen=True, slots=True)
class Base64Data:
    value: str
    format: str = field(default="base64", init=False)

    def __post_init__(self) -> None:
        try:
            raw = base64.b64decode(self.value, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise InvalidValue("base64 data is not valid base64") from None
        if len(raw) > MAX_DATA_LENGTH:
            raise InvalidValue(f"data is longer than {MAX_DATA_LENGTH} bytes")

    def to_json(self) -> JsonValue:
        return self.value


@dataclass(frozen=True, slots=True)
class HexData:
    value: str
    format: str = field(default="hex", init=False)

    def __post_init__(self) -> None:
        try:
            raw = bytes.fromhex(self.value)
        except (ValueError, TypeError):
            raise InvalidValue("hex data is not valid hexadecimal") from None
        if len(raw) > MAX_DATA_LENGTH:
            raise InvalidValue(f"data is longer than {MAX_DATA_LENGTH} bytes")

    def to_json(self) -> JsonValue:
        return self.value


@dataclass(frozen=True, slots=True)
class AdminData:
    """HS_ADMIN: who administers the handle (a value of another handle) and with which permissions."""

    handle: str
    index: int
    permissions: str = "011111110011"
    format: str = field(default="admin", init=False)

    def __post_init__(self) -> None:
        Reference(self.handle, self.index)
        _check_bits(self.permissions, 12, "admin permissions")

    @property
    def ref(self) -> Reference:
        return Reference(self.handle, self.index)

    def to_json(self) -> JsonValue:
        return {"handle": self.handle, "index": self.index, "permissions": self.permissions}


@dataclass(frozen=True, slots=True)
class VListData:
    """HS_VLIST: a group of values of other handles, used to name several administrators."""

    refs: tuple[Reference, ...]
    format: str = field(default="vlist", init=False)

    def to_json(self) -> JsonValue:
        return [ref.to_json() for ref in self.refs]


@dataclass(frozen=True, slots=True)
class KeyData:
    """HS_PUBKEY data: an RSA, DSA or Ed25519 public key (`pubkeys`), a JWK in JSON."""

    key: pubkeys.PublicKey
    format: str = field(default="key", init=False)

    def to_json(self) -> JsonValue:
        return self.key.to_jwk()


@dataclass(frozen=True, slots=True)
class OpaqueData:
    """Data in a format kept as it came (`site`, or a stored `key` this node cannot read) until the node
    interprets it."""

    format: str
    value: JsonValue


Data: TypeAlias = StringData | Base64Data | HexData | AdminData | VListData | KeyData | OpaqueData


def _data_to_json(data: Data) -> JsonValue:
    return data.value if isinstance(data, OpaqueData) else data.to_json()


@dataclass(frozen=True, slots=True)
class HandleValue:
    """One value of a handle record. `ttl` is seconds, or an epoch time when `ttl_absolute`."""

    index: int
    type: str
    data: Data
    ttl: int = DEFAULT_TTL
    ttl_absolute: bool = False
    timestamp: int = 0
    permissions: str = DEFAULT_PERMISSIONS
    references: tuple[Reference, ...] = ()
    readers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_index(self.index)
        if not isinstance(self.type, str) or not self.type or len(self.type) > MAX_TYPE_LENGTH:
            raise InvalidValue(f"a value's type must be 1 to {MAX_TYPE_LENGTH} characters")
        if not self.type.isprintable():
            raise InvalidValue("a value's type holds control characters")
        limit = LAST_TIME if self.ttl_absolute else MAX_TTL
        if not isinstance(self.ttl, int) or isinstance(self.ttl, bool) or not 0 <= self.ttl <= limit:
            raise InvalidValue(f"ttl must be a number of seconds from 0 to {MAX_TTL}, or a time")
        if self.permissions != DEFAULT_PERMISSIONS:
            _check_bits(self.permissions, 4, "permissions")
        if self.readers:
            object.__setattr__(self, "readers", check_readers(self.readers))

    @classmethod
    def text(cls, index: int, type: str, value: str, *, ttl: int = DEFAULT_TTL) -> HandleValue:
        """A plain string value, the most common kind."""
        return cls(index, type, StringData(value), ttl=ttl)

    @property
    def public(self) -> bool:
        """Whether anyone may read this value (`publicly_readable`)."""
        return publicly_readable(self.type, self.permissions, self.readers)

    @property
    def is_secret(self) -> bool:
        """Secret keys are never sent to anyone, whatever their permissions say."""
        return self.type == HS_SECKEY

    def to_json(self, timestamp: str | None = None) -> dict[str, JsonValue]:
        """The Handle REST form, keys in the order clients expect; `timestamp` is pre-rendered text."""
        out: dict[str, JsonValue] = {
            "index": self.index,
            "type": self.type,
            "data": {"format": self.data.format, "value": _data_to_json(self.data)},
            "ttl": render_time(self.ttl) if self.ttl_absolute else self.ttl,
        }
        if timestamp is not None:
            out["timestamp"] = timestamp
        elif self.timestamp:
            out["timestamp"] = render_time(self.timestamp)
        if self.permissions != DEFAULT_PERMISSIONS:
            out["permissions"] = self.permissions
        if self.readers:  # left out when empty, as references are: a record without them is unchanged
            out["readers"] = list(self.readers)
        if self.references:
            out["references"] = [ref.to_json() for ref in self.references]
        return out
