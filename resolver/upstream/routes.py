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

HTTP, HTTPS = 2, 3


@dataclass(frozen=True, slots=True)
class Route:
    """The HTTP interfaces of the servers to ask, the site values they came from (what a referral names),
    and whether those are an ancestor prefix's (`derived`: the Handle System's prefix referral)."""

    servers: tuple[str, ...]
    site: Answer | None  # None: the parent, asked for what it holds or knows
    derived: bool = False


def _host(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address


def http_interfaces(site: Site) -> list[str]:
    """The base URLs of the site's servers that answer queries over HTTP(S)."""
    found = []
    for server in site.servers:
        for interface in server.interfaces:
            if interface.protocol in (HTTP, HTTPS) and interface.kind & INTERFACE_QUERY:
                scheme = "https" if interface.protocol == HTTPS else "http"
                found.append(f"{scheme}://{_host(server.address)}:{interface.port}")
    return found


def route_of(record: Answer, *, derived: bool) -> Route | None:
    """The route a prefix handle's record names; None when it names no site with an HTTP interface."""
    values: list[dict[str, Any]] = [v for v in record.values() if v.get("type") in SITE_TYPES]
    servers: list[str] = []
    for value in values:
        data = value.get("data")
        if not isinstance(data, dict) or data.get("format") != "site":
            continue
        try:
            servers += http_interfaces(Site.from_json(data.get("value")))
        except WireError:
            continue  # a damaged site record names nothing to ask; another value may
    if not servers:
        return None
    site = Answer.from_stored(orjson.dumps(values))
    return Route(tuple(dict.fromkeys(servers)), site, derived)
