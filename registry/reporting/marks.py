"""Small settings of the reporting kept in the node's table: where it has got to, and who is sending."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from ..store.engine import Store
from ..store.schema import node

_SENDER = "report_sender"


async def read_mark(store: Store, key: str) -> str | None:
    async with store.reader.connect() as conn:
        return (await conn.execute(select(node.c.value).where(node.c.key == key))).scalar_one_or_none()


async def write_mark(store: Store, key: str, value: str) -> None:
    async with store.writer.begin() as conn:
        done = await conn.execute(update(node).where(node.c.key == key).values(value=value))
        if not done.rowcount:
            await conn.execute(insert(node).values(key=key, value=value))


async def take_lease(store: Store, owner: str, *, now: float, seconds: float) -> bool:
    """Whether `owner` is the node's one reporting process until `now + seconds`: it was already, or the one
    before let its lease run out. The change is made only if the row still says what was read, so two
    processes cannot both take it."""
    value = f"{owner} {now + seconds:.3f}"
    async with store.writer.begin() as conn:
        held = (await conn.execute(select(node.c.value).where(node.c.key == _SENDER))).scalar_one_or_none()
        if held is None:
            await conn.execute(insert(node).values(key=_SENDER, value=value))
            return True
        holder, _, until = held.rpartition(" ")
        if holder != owner and float(until or 0) > now:
            return False
        swapped = await conn.execute(
            update(node).where((node.c.key == _SENDER) & (node.c.value == held)).values(value=value)
        )
        return bool(swapped.rowcount)


async def release_lease(store: Store, owner: str) -> None:
    """Let the lease go, if `owner` holds it, so that another process may take it at once."""
    async with store.writer.begin() as conn:
        held = (await conn.execute(select(node.c.value).where(node.c.key == _SENDER))).scalar_one_or_none()
        if held is not None and held.rpartition(" ")[0] == owner:
            await conn.execute(update(node).where(node.c.key == _SENDER).values(value=f"{owner} 0"))
