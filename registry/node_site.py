"""The node's site record as the HS_SITE value of its prefix handle (`1:0.NA/<node prefix>`): how Handle
clients that resolve the prefix find the node's servers, interfaces and key. The serving processes know the
record (their ports, address and key); they publish it here when it changes."""

from __future__ import annotations

from typing import Any, Final

import orjson

from .codec import encode_values
from .handle import Handle
from .store import journal, records
from .values import HandleValue, OpaqueData
from .writer import Writer

HS_SITE: Final = "HS_SITE"
SITE_INDEX: Final = 1


async def publish_site(writer: Writer, site: Any) -> bool:
    """Make the prefix handle's HS_SITE value hold `site` (a site record's JSON, as the Handle.Net server
    writes it); False when it held that already, and nothing was written."""
    async with writer.transaction(writer.node.admin) as ctx:
        key = ctx.key(Handle.for_prefix(writer.node.prefix))
        # The other values stay exactly as stored (decoding and encoding them again would drop what their
        # JSON carries beyond the model, such as the JWK members of the node's keys).
        items: list[Any] = orjson.loads(await records.read_for_update(ctx.conn, key) or "[]")
        held = next((v for v in items if v.get("index") == SITE_INDEX), None)
        if held is not None and held.get("type") == HS_SITE and held.get("data") == _data(site):
            return False
        fresh = HandleValue(SITE_INDEX, HS_SITE, OpaqueData("site", site), timestamp=int(ctx.now.timestamp()))
        items = [*orjson.loads(encode_values([fresh])), *(v for v in items if v.get("index") != SITE_INDEX)]
        await records.replace(ctx.conn, key, orjson.dumps(items).decode(), ctx.now)
        await ctx.record([(key, journal.UPDATE)])
    return True


def _data(site: Any) -> Any:
    """The stored JSON of the site's data."""
    return orjson.loads(orjson.dumps({"format": "site", "value": site}))
