"""Handle values in their binary form, and the typed data some of them hold (HS_ADMIN, HS_VLIST, HS_SITE),
converted to and from the Handle System's JSON form — the form the REST API, the SDK's records and the node's
store use, so that one handle reads the same in every dialect.
"""

from __future__ import annotations

import base64
import calendar
import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import wire
from .wire import Reader, WireError

JsonValue = Any
KeyEncoder = Callable[[JsonValue], bytes]

TTL_RELATIVE, TTL_ABSOLUTE = 0, 1
DEFAULT_PERMISSIONS = 0b1110  # admin read, admin write, public read
DEFAULT_TTL = 86_400


@dataclass(frozen=True, slots=True)
class Value:
    """One value of a handle as the protocol carries it: `data` is raw bytes whatever the type."""

    index: int
    type: str
    data: bytes
    ttl: int = DEFAULT_TTL
    ttl_type: int = TTL_RELATIVE
    timestamp: int = 0
    permissions: int = DEFAULT_PERMISSIONS
    references: tuple[tuple[str, int], ...] = ()

    def encode(self) -> bytes:
        refs = b"".join(wire.text(handle) + wire.i32(index) for handle, index in self.references)
        return b"".join(
            (
                wire.i32(self.index), wire.u32(self.timestamp), wire.u8(self.ttl_type), wire.u32(self.ttl),
                wire.u8(self.permissions), wire.text(self.type), wire.bytes_(self.data),
                wire.u32(len(self.references)), refs,
            )
        )  # fmt: skip

    @classmethod
    def decode(cls, reader: Reader) -> Value:
        index = reader.i32("value index")
        timestamp = reader.u32("value timestamp")
        ttl_type = reader.u8("TTL type")
        ttl = reader.u32("TTL")
        permissions = reader.u8("permissions")
        type_ = reader.text("value type")
        data = reader.bytes_("value data")
        refs = tuple(_references(reader))
        return cls(index, type_, data, ttl, ttl_type, timestamp, permissions & 0x0F, refs)


def encode_values(values: Sequence[Value]) -> bytes:
    """A value count, then the values."""
    return wire.u32(len(values)) + b"".join(v.encode() for v in values)


def decode_values(reader: Reader) -> list[Value]:
    # The smallest value is 26 bytes: the count check refuses a count the rest could not hold.
    return [Value.decode(reader) for _ in range(reader.count(26, "value"))]


# --- typed data -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Admin:
    """HS_ADMIN data: a permission mask (`AdminBit`) and the admin value it names."""

    permissions: int
    handle: str
    index: int

    def encode(self) -> bytes:
        return wire.u16(self.permissions) + wire.text(self.handle) + wire.i32(self.index)

    @classmethod
    def decode(cls, data: bytes) -> Admin:
        reader = Reader(data)
        admin = cls(
            reader.u16("admin permissions") & 0x0FFF, reader.text("admin handle"), reader.i32("admin index")
        )
        # Servers up to 7.3 wrote two more bytes (the mask's old width); the reference reads them and goes on.
        if reader.remaining == 2:
            reader.raw(2, "legacy admin padding")
        reader.done("admin record")
        return admin


def encode_references(refs: Sequence[tuple[str, int]]) -> bytes:
    """HS_VLIST data."""
    return wire.u32(len(refs)) + b"".join(wire.text(handle) + wire.i32(index) for handle, index in refs)


def _references(reader: Reader) -> list[tuple[str, int]]:
    count = reader.count(8, "reference")
    return [(reader.text("reference"), reader.i32("reference index")) for _ in range(count)]


def decode_references(data: bytes) -> list[tuple[str, int]]:
    reader = Reader(data)
    refs = _references(reader)
    reader.done("value list")
    return refs


INTERFACE_ADMIN, INTERFACE_QUERY = 1, 2
PROTOCOLS = {0: "UDP", 1: "TCP", 2: "HTTP", 3: "HTTPS"}
PROTOCOL_NUMBERS = {name: number for number, name in PROTOCOLS.items()}
PRIMARY, MULTI_PRIMARY = 0x80, 0x40
HASH_BY_ALL = 2


@dataclass(frozen=True, slots=True)
class Interface:
    kind: int  # INTERFACE_ADMIN | INTERFACE_QUERY
    protocol: int  # 0 UDP, 1 TCP, 2 HTTP, 3 HTTPS
    port: int


@dataclass(frozen=True, slots=True)
class Server:
    server_id: int
    address: str
    public_key: bytes = b""
    interfaces: tuple[Interface, ...] = ()


@dataclass(frozen=True, slots=True)
class Site:
    """HS_SITE data, also the body of a GET_SITE_INFO answer: one service site and its servers."""

    serial: int = 1
    servers: tuple[Server, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    primary: bool = True
    multi_primary: bool = False
    hash_option: int = HASH_BY_ALL
    hash_filter: str = ""
    protocol: tuple[int, int] = (2, 11)
    version: int = 1

    def encode(self) -> bytes:
        flags = (PRIMARY if self.primary else 0) | (MULTI_PRIMARY if self.multi_primary else 0)
        parts = [
            wire.u16(self.version), wire.u8(self.protocol[0]), wire.u8(self.protocol[1]),
            wire.u16(self.serial), wire.u8(flags), wire.u8(self.hash_option), wire.text(self.hash_filter),
            wire.u32(len(self.attributes)),
        ]  # fmt: skip
        parts += [wire.text(name) + wire.text(value) for name, value in self.attributes]
        parts.append(wire.u32(len(self.servers)))
        parts += [_encode_server(server) for server in self.servers]
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes | Reader) -> Site:
        reader = data if isinstance(data, Reader) else Reader(data)
        version = reader.u16("site version")
        protocol = (reader.u8("site protocol"), reader.u8("site protocol"))
        serial = reader.u16("site serial")
        flags = reader.u8("site flags")
        hash_option = reader.u8("hash option")
        hash_filter = reader.text("hash filter")
        count = reader.count(8, "attribute")
        attributes = tuple((reader.text("attribute name"), reader.text("attribute")) for _ in range(count))
        servers = tuple(_decode_server(reader) for _ in range(reader.count(28, "server")))
        if not isinstance(data, Reader):
            reader.done("site")
        return cls(
            serial, servers, attributes, bool(flags & PRIMARY), bool(flags & MULTI_PRIMARY), hash_option,
            hash_filter, protocol, version,
        )  # fmt: skip

    def to_json(self) -> dict[str, JsonValue]:
        """The Handle.Net server's JSON of a site (`format: site`), public keys as base64 of their bytes."""
        return {
            "version": self.version,
            "protocolVersion": f"{self.protocol[0]}.{self.protocol[1]}",
            "serialNumber": self.serial,
            "primarySite": self.primary,
            "multiPrimary": self.multi_primary,
            **({} if self.hash_option == HASH_BY_ALL else {"hashOption": self.hash_option}),
            **({"hashFilter": self.hash_filter} if self.hash_filter else {}),
            "attributes": [{"name": name, "value": value} for name, value in self.attributes],
            "servers": [_server_json(server) for server in self.servers],
        }

    @classmethod
    def from_json(cls, obj: JsonValue, keys: KeyEncoder | None = None) -> Site:
        try:
            major, _, minor = str(obj.get("protocolVersion", "2.11")).partition(".")
            return cls(
                serial=int(obj.get("serialNumber", 1)),
                servers=tuple(_server_from_json(s, keys) for s in obj.get("servers", ())),
                attributes=tuple((str(a["name"]), str(a["value"])) for a in obj.get("attributes", ())),
                primary=bool(obj.get("primarySite", True)),
                multi_primary=bool(obj.get("multiPrimary", False)),
                hash_option=int(obj.get("hashOption", HASH_BY_ALL)),
                hash_filter=str(obj.get("hashFilter", "")),
                protocol=(int(major), int(minor)),
                version=int(obj.get("version", 1)),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise WireError(f"not a site record: {exc}", code=202) from None


def _encode_server(server: Server) -> bytes:
    interfaces = b"".join(wire.u8(i.kind) + wire.u8(i.protocol) + wire.u32(i.port) for i in server.interfaces)
    return b"".join(
        (
            wire.u32(server.server_id), _address_bytes(server.address), wire.bytes_(server.public_key),
            wire.u32(len(server.interfaces)), interfaces,
        )
    )  # fmt: skip


def _decode_server(reader: Reader) -> Server:
    server_id = reader.u32("server id")
    address = _address_text(reader.raw(16, "server address"))
    public_key = reader.bytes_("server key")
    interfaces = tuple(
        Interface(reader.u8("interface type"), reader.u8("interface protocol"), reader.u32("port"))
        for _ in range(reader.count(6, "interface"))
    )
    return Server(server_id, address, public_key, interfaces)


def _address_bytes(address: str) -> bytes:
    """16 bytes: an IPv6 address, or an IPv4 one left-padded with zeros (not the IPv4-mapped form)."""
    ip = ipaddress.ip_address(address)
    return ip.packed.rjust(16, b"\0")


def _address_text(raw: bytes) -> str:
    if raw[:12] == bytes(12):
        return str(ipaddress.IPv4Address(raw[12:]))
    return str(ipaddress.IPv6Address(raw))


def _server_json(server: Server) -> dict[str, JsonValue]:
    return {
        "serverId": server.server_id,
        "address": server.address,
        "publicKey": {"format": "base64", "value": base64.b64encode(server.public_key).decode()},
        "interfaces": [
            {
                "query": bool(i.kind & INTERFACE_QUERY),
                "admin": bool(i.kind & INTERFACE_ADMIN),
                "protocol": PROTOCOLS.get(i.protocol, i.protocol),
                "port": i.port,
            }
            for i in server.interfaces
        ],
    }


def _server_from_json(obj: JsonValue, keys: KeyEncoder | None) -> Server:
    key = obj.get("publicKey") or {"format": "base64", "value": ""}
    interfaces = tuple(
        Interface(
            (INTERFACE_QUERY if i.get("query") else 0) | (INTERFACE_ADMIN if i.get("admin") else 0),
            PROTOCOL_NUMBERS[i["protocol"]] if isinstance(i["protocol"], str) else int(i["protocol"]),
            int(i["port"]),
        )
        for i in obj.get("interfaces", ())
    )
    return Server(int(obj["serverId"]), str(obj["address"]), data_bytes(key, keys), interfaces)


# --- JSON ⇄ binary ----------------------------------------------------------------------------------------


def data_bytes(data: JsonValue, keys: KeyEncoder | None = None) -> bytes:
    """The raw bytes of a value's JSON `data` (`{"format": …, "value": …}`, or bare text for a string).
    `keys` turns a JWK (format `key`) into the Handle System's key bytes; without it such data is refused."""
    if isinstance(data, str):
        return data.encode()
    kind = data.get("format") if isinstance(data, dict) else None
    try:
        value = data["value"]
        if kind == "string":
            return str(value).encode()
        if kind == "base64":
            return base64.b64decode(value, validate=True)
        if kind == "hex":
            return bytes.fromhex(value)
        if kind == "admin":
            return Admin(int(value["permissions"], 2), value["handle"], int(value["index"])).encode()
        if kind == "vlist":
            return encode_references([(ref["handle"], int(ref["index"])) for ref in value])
        if kind == "site":
            return Site.from_json(value, keys).encode()
        if kind == "key" and keys is not None:
            return keys(value)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WireError(f"value data of format {kind!r} is malformed: {exc}", code=202) from None
    raise WireError(f"value data of format {kind!r} has no binary form here", code=202)


def from_json(value: JsonValue, keys: KeyEncoder | None = None) -> Value:
    """A value of the JSON form (as the REST API and the store write it) in its binary form."""
    try:
        ttl, ttl_type = value.get("ttl", DEFAULT_TTL), TTL_RELATIVE
        if isinstance(ttl, str):
            ttl, ttl_type = parse_time(ttl), TTL_ABSOLUTE
        stamp = value.get("timestamp")
        return Value(
            index=int(value["index"]),
            type=str(value["type"]),
            data=data_bytes(value.get("data", ""), keys),
            ttl=int(ttl),
            ttl_type=ttl_type,
            timestamp=parse_time(stamp) if isinstance(stamp, str) else int(stamp or 0),
            permissions=int(value.get("permissions", "1110"), 2),
            references=tuple((str(r["handle"]), int(r["index"])) for r in value.get("references", ())),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WireError(f"not a handle value: {exc}", code=202) from None


def to_json(value: Value) -> dict[str, JsonValue]:
    """The JSON form of a binary value: text data as `string`, HS_ADMIN as `admin`, HS_VLIST as `vlist`,
    HS_SITE as `site`, anything else that is not UTF-8 text as `base64`: the formats the REST API answers
    with."""
    out: dict[str, JsonValue] = {
        "index": value.index,
        "type": value.type,
        "data": _data_json(value.type, value.data),
        "ttl": render_time(value.ttl) if value.ttl_type == TTL_ABSOLUTE else value.ttl,
    }
    if value.timestamp:
        out["timestamp"] = render_time(value.timestamp)
    if value.permissions != DEFAULT_PERMISSIONS:
        out["permissions"] = format(value.permissions, "04b")
    if value.references:
        out["references"] = [{"handle": handle, "index": index} for handle, index in value.references]
    return out


def _data_json(type_: str, data: bytes) -> dict[str, JsonValue]:
    try:
        if type_ == "HS_ADMIN":
            admin = Admin.decode(data)
            permissions = format(admin.permissions, "012b")
            fields = {"handle": admin.handle, "index": admin.index, "permissions": permissions}
            return {"format": "admin", "value": fields}
        if type_ == "HS_VLIST":
            refs = [{"handle": h, "index": i} for h, i in decode_references(data)]
            return {"format": "vlist", "value": refs}
        if type_ in ("HS_SITE", "HS_SITE.PREFIX"):
            return {"format": "site", "value": Site.decode(data).to_json()}
    except WireError:
        pass  # not what its type says: shown as the bytes it is
    try:
        return {"format": "string", "value": data.decode()}
    except UnicodeDecodeError:
        return {"format": "base64", "value": base64.b64encode(data).decode()}


def render_time(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_time(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


__all__ = [
    "Admin", "Interface", "Server", "Site", "Value", "data_bytes", "decode_references", "decode_values",
    "encode_references", "encode_values", "from_json", "to_json",
]  # fmt: skip
