"""Who is asking: the address a throttle counts, from the connection's peer (and, behind a trusted proxy,
from `X-Forwarded-For`).

The peer address is the only one a client cannot choose; `X-Forwarded-For` is anyone's to write, so it is
read only when the peer is a proxy the operator named (IDNODE_TRUSTED_PROXIES), and then from the right:
the nearest address that is not itself a trusted proxy is the client. IPv6 clients count by their /64 (the
network one subscriber is given), so that walking through the addresses of one's own network gains nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"  # a peer without an address (a Unix socket)


def _address(text: str | None) -> IPAddress | None:
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _label(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


class Sources:
    def __init__(self, trusted: Sequence[IPNetwork] = ()) -> None:
        self._trusted = tuple(trusted)

    def _trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)

    def of(self, peer: str | None, forwarded: Sequence[str] = ()) -> str:
        """The client's address as counted: `peer`, or the hop before the trusted proxies in `forwarded`
        (the values of `X-Forwarded-For`, in order)."""
        address = _address(peer)
        if address is None:
            return UNKNOWN
        if self._trusts(address):
            hops = [hop for value in forwarded for hop in value.split(",")]
            for hop in reversed(hops):
                before = _address(hop)
                if before is None:
                    break  # a hop that is no address: nothing further left is believable
                address = before
                if not self._trusts(before):
                    break
        return _label(address)

    def of_scope(self, scope: Mapping[str, Any]) -> str:
        """The client's address of an ASGI request."""
        client = scope.get("client")
        peer = str(client[0]) if client else None
        forwarded: list[str] = []
        if self._trusted:
            forwarded = [bytes(v).decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        return self.of(peer, forwarded)
