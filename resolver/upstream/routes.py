"""Where a prefix lives: the servers of its site, from the HS_SITE values of its prefix handle.

The Handle System's way: a client resolves `0.NA/<prefix>` for its site; a prefix handle without one is
looked for further up (`88.901.5` derives from `88.901`, whose site then serves it). A top-level node holds
the prefix handles of the node prefixes it allocated; a secondary node asks its parent for them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import orjson

from sdk.native.values import INTERFACE_QUERY, Site
from sdk.native.wire import WireError

from ..answer import Answer
from ..pipeline import SITE_TYPES

TCP, HTTP, HTTPS = 1, 2, 3


@dataclass(frozen=True, slots=True)
class Route:
    """The endpoints of the servers to ask, the site values they came from (what a referral names),
    and whether those are an ancestor prefix's (`derived`: the Handle System's prefix referral)."""

    servers: tuple[str, ...]
    site: Answer | None  # None: the parent, asked for what it holds or knows
    derived: bool = False
    signing: tuple[str, ...] = ()  # those that give signed answers (HTTP); none: `servers` (unsigned)


def _host(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address


# The interface a server is asked on, best first. A resolution: the native protocol's TCP (connections kept
# open; a ninth of the CPU an HTTP request costs the asking node with httpx: 90 against 850 µs, measured with
# resolve_remote's runs and a loop of the two clients), then HTTP. A signed answer: HTTP,
# whose cert=true answer carries the origin's signature on to the client. A server on UDP alone is not asked:
# datagrams lost would each cost a timeout, and every Handle server offers TCP beside UDP.
RESOLVING = (TCP, HTTP, HTTPS)
SIGNING = (HTTPS, HTTP)
_SCHEMES = {HTTP: "http", HTTPS: "https", TCP: "tcp"}


def endpoints(site: Site, preference: tuple[int, ...] = RESOLVING) -> list[str]:
    """One endpoint (`tcp://host:port`, `http://…`) per server of the site that answers queries, on the first
    of its interfaces in `preference`."""
    found = []
    for server in site.servers:
        offered = {i.protocol: i.port for i in server.interfaces if i.kind & INTERFACE_QUERY}
        best = next((protocol for protocol in preference if protocol in offered), None)
        if best is not None:
            found.append(f"{_SCHEMES[best]}://{_host(server.address)}:{offered[best]}")
    return found


def route_of(record: Answer, *, derived: bool) -> Route | None:
    """The route a prefix handle's record names; None when it names no site with a server to ask."""
    values: list[dict[str, Any]] = [v for v in record.values() if v.get("type") in SITE_TYPES]
    servers: list[str] = []
    signing: list[str] = []
    for value in values:
        data = value.get("data")
        if not isinstance(data, dict) or data.get("format") != "site":
            continue
        try:
            site = Site.from_json(data.get("value"))
        except WireError:
            continue  # a damaged site record names nothing to ask; another value may
        servers += endpoints(site)
        signing += endpoints(site, SIGNING)
    if not servers:
        return None
    return Route(
        tuple(dict.fromkeys(servers)), Answer.from_stored(orjson.dumps(values)), derived,
        tuple(dict.fromkeys(signing)),
    )  # fmt: skip
