"""The node's site record: where Handle clients find its native and HTTP interfaces, and the key its
certified answers are signed with. GET_SITE_INFO answers it; it is also what an HS_SITE value of the node's
prefix handle holds."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import zlib
from dataclasses import dataclass, replace

from registry import Services, pubkeys
from registry.node_site import publish_site
from registry.signing import PublicKey
from sdk.native.values import INTERFACE_ADMIN, INTERFACE_QUERY, Interface, Server, Site

from ...signing import AnswerSigner, SigningUnavailable

log = logging.getLogger("idnode.native")


@dataclass(frozen=True, slots=True)
class Place:
    """Where the node listens: the native port (None: not at all) and the HTTP port, on one address."""

    host: str
    native_port: int | None
    http_port: int | None


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
    encoded = None if key is None else pubkeys.handle_encoding(key.jwk)
    return encoded or b""


def site_record(prefix: str, place: Place, key: PublicKey | None) -> Site:
    """The site of a node of one server; its serial follows its content, so that it changes when the ports,
    the address or the key do."""
    interfaces = []
    if place.native_port is not None:
        # TCP first: the CAICT ID-SDK speaks only the first interface of the site it is given (and its
        # logins last as long as a TCP connection); the CNRI library picks by its own preference anyway.
        interfaces += [Interface(BOTH, TCP, place.native_port), Interface(BOTH, UDP, place.native_port)]
    if place.http_port is not None:
        interfaces.append(Interface(BOTH, HTTP, place.http_port))
    server = Server(1, reachable_address(place.host), key_bytes(key), tuple(interfaces))
    site = Site(servers=(server,), attributes=(("desc", f"idnode {prefix}"),))
    return replace(site, serial=zlib.crc32(site.encode()) % 0xFFFF + 1)


class SiteRecord:
    """The node's current site record: made from the settings and the node's key when the listeners start,
    made again when the key changes (a rotation), and published as the prefix handle's HS_SITE value each
    time it differs from what is published."""

    def __init__(self, services: Services, signer: AnswerSigner, place: Place) -> None:
        self._services = services
        self._signer = signer
        self._place = place
        self._kid: str | None = None
        self.current = site_record(services.node.prefix, place, None)

    async def refresh(self) -> None:
        """Make the record again if the node's key changed, and publish it if the prefix handle's differs."""
        try:
            key: PublicKey | None = (await self._signer.current()).key.public
        except SigningUnavailable:
            key = None  # the site then names no key
        kid = None if key is None else key.kid
        if kid == self._kid and self._kid is not None:
            return
        self.current = site_record(self._services.node.prefix, self._place, key)
        try:
            if await publish_site(self._services.writer, self.current.to_json()):
                log.info("published the node's site record (serial %d)", self.current.serial)
        except Exception as exc:  # the database: served from memory all the same, published next time
            log.warning("publishing the site record failed (%s)", exc)
            return
        self._kid = kid

    async def keep_current(self, every: float = 30.0) -> None:
        while True:
            await asyncio.sleep(every)
            await self.refresh()
