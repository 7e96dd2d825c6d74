"""Homing the node's prefix at its parent: the parent's `0.NA/<node prefix>` gets the node's site record
(HS_SITE at index 1), so that every node asking the parent where the prefix lives finds this node.

The node does it as the administrator of that prefix handle (`300:0.NA/<node prefix>`, with the secret the
parent gave it), over the parent's Handle REST API; on start, and again whenever its site record changes (its
addresses, ports or key). A parent that cannot be reached does not stop the node: it keeps trying, backing
off, and says so once in the log.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from registry.hierarchy import Parent, parent_principal
from registry.node_site import HS_SITE, SITE_INDEX

log = logging.getLogger("idnode.homing")

RETRY_FIRST, RETRY_MAX = 1.0, 60.0


class HomingRefused(Exception):
    """The parent refused the node's site record (its credentials, or the record)."""


class Homing:
    def __init__(self, parent: Parent, node_prefix: str, site: Callable[[], Any], *, timeout: float) -> None:
        self._parent = parent
        self._prefix = node_prefix
        self._site = site
        self._timeout = timeout
        self._homed: bytes | None = None
        self.homed = asyncio.Event()  # set once the parent holds the current record

    @property
    def _authorization(self) -> str:
        user = quote(parent_principal(self._prefix), safe="/")
        token = base64.b64encode(f"{user}:{self._parent.secret}".encode()).decode()
        return f"Basic {token}"

    def _body(self) -> bytes:
        value = {"index": SITE_INDEX, "type": HS_SITE, "data": {"format": "site", "value": self._site()}}
        return orjson.dumps({"values": [value]})

    async def home(self) -> bool:
        """Put the current site record at the parent unless it holds it already; True when it was sent."""
        body = self._body()
        if body == self._homed:
            return False
        url = f"{self._parent.url}/api/handles/0.NA/{quote(self._prefix)}?index={SITE_INDEX}&overwrite=true"
        headers = {"authorization": self._authorization, "content-type": "application/json"}
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            reply = await client.put(url, content=body, headers=headers)
        if reply.status_code not in (200, 201):
            raise HomingRefused(f"HTTP {reply.status_code}: {reply.text[:200]}")
        self._homed = body
        self.homed.set()
        log.info("prefix %s homed at %s", self._prefix, self._parent.url)
        return True

    async def keep_homed(self, every: float = 30.0) -> None:
        """Home now, and again whenever the record changes; retried with back-off while the parent fails."""
        delay = RETRY_FIRST
        failing = False
        while True:
            try:
                await self.home()
            except (httpx.HTTPError, HomingRefused) as exc:
                if not failing:
                    log.warning(
                        "homing prefix %s at %s failed (%s); retrying", self._prefix, self._parent.url, exc
                    )
                failing = True
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, RETRY_MAX)
                continue
            failing, delay = False, RETRY_FIRST
            await asyncio.sleep(every)
