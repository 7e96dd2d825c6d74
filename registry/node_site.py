"""The node's site record as the HS_SITE value of its prefix handle (`1:0.NA/<node prefix>`): how Handle
clients that resolve the prefix find the node's servers, interfaces and key. The serving processes know the
record (their ports, address and key); they publish it here when it changes."""

from __future__ import annotations

from typing import Any, Final

from .codec import decode_values, encode_values
from .handle import Handle
from .store import journal, records
from .values import HandleValue, OpaqueData
from .writer import Writer

HS_SITE: Final = "HS_SITE"
SITE_INDEX: Final = 1


async def publish_site(writer: Writer, site: Any) -> bool:
    """Make the prefix handle's HS_SITE value hold `site` (a site record's JSON, as the Handle.Net server
    writes it); False when it held that already, and nothing was written."""
    wanted = OpaqueData("site", site)
    async with writer.transaction(writer.node.admin) as ctx:
        key = ctx.key(Handle.for_prefix(writer.node.prefix))
        stored = await records.read_for_update(ctx.conn, key)
        values = decode_values(stored or "[]")
        held = next((v for v in values if v.index == SITE_INDEX), None)
        if held is not None and held.type == HS_SITE and held.data == wanted:
            return False
        stamp = int(ctx.now.timestamp())
        values = [v for v in values if v.index != SITE_INDEX]
        values.insert(0, HandleValue(SITE_INDEX, HS_SITE, wanted, timestamp=stamp))
        await records.replace(ctx.conn, key, encode_values(values).decode(), ctx.now)
        await ctx.record([(key, journal.UPDATE)])
    return True
