"""The node's site record: where Handle clients find its native and HTTP interfaces, and the key its
certified answers are signed with. GET_SITE_INFO answers it; it is also what an HS_SITE value of the node's
prefix handle holds."""

from __future__ import annotations

import ipaddress
import socket
import zlib
from dataclasses import replace

from registry import pubkeys
from registry.errors import InvalidValue
from registry.signing import PublicKey
from sdk.native.values import INTERFACE_ADMIN, INTERFACE_QUERY, Interface, Server, Site

UDP, TCP, HTTP = 0, 1, 2
BOTH = INTERFACE_ADMIN | INTERFACE_QUERY


def reachable_address(host: str) -> str:
    """The address to publish for a server listening on `host`: the host itself, or for a wildcard the
    address the machine's name resolves to (loopback when it resolves to nothing better)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = ipaddress.ip_address(socket.gethostbyname(host))
    if not address.is_unspecified:
        return str(address)
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def key_bytes(key: PublicKey | None) -> bytes:
    """The Handle System's encoding of the node's key; empty for a key it cannot encode (SM2)."""
    if key is None:
        return b""
    try:
        return pubkeys.from_jwk(key.jwk).to_bytes()
    except InvalidValue:
        return b""


def site_record(
    prefix: str, host: str, native_port: int | None, http_port: int | None, key: PublicKey | None
) -> Site:
    """The site of a node of one server; its serial follows its content, so that it changes when the ports,
    the address or the key do."""
    interfaces = []
    if native_port is not None:
        interfaces += [Interface(BOTH, UDP, native_port), Interface(BOTH, TCP, native_port)]
    if http_port is not None:
        interfaces.append(Interface(BOTH, HTTP, http_port))
    server = Server(1, reachable_address(host), key_bytes(key), tuple(interfaces))
    site = Site(servers=(server,), attributes=(("desc", f"idnode {prefix}"),))
    return replace(site, serial=zlib.crc32(site.encode()) % 0xFFFF + 1)
