"""Challenges of the native Handle protocol waiting for their answers.

A request that needs an administrator is answered with a challenge under a session id of its own; the answer
comes back with that id — from the CNRI library on a new TCP connection, which any of the node's processes
(or hosts) may accept. So what the answer needs (the request, the nonce, the request's digest) is kept here,
in the database, for a minute, and taken once: a second answer to one challenge finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from .store.engine import Store
from .store.schema import native_challenges


@dataclass(frozen=True, slots=True)
class Pending:
    request: bytes  # the challenged request's message, as it came
    nonce: bytes
    digest: bytes  # of the request, without its type byte, as the challenge carried it


class Challenges:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def put(self, session: int, pending: Pending, *, expires: int, now: int) -> None:
        """Keep `pending` under `session` until `expires` (and forget every challenge expired by `now`)."""
        table = native_challenges
        row = {"request": pending.request, "nonce": pending.nonce, "digest": pending.digest}
        async with self._store.writer.begin() as conn:
            await conn.execute(delete(table).where(table.c.expires <= now))
            await conn.execute(delete(table).where(table.c.session == session))
            await conn.execute(insert(table).values(session=session, expires=expires, **row))

    async def take(self, session: int, now: int) -> Pending | None:
        """The challenge kept under `session`, removed; None if there is none or it expired."""
        table = native_challenges
        async with self._store.writer.begin() as conn:
            found = (
                await conn.execute(select(table).where(table.c.session == session, table.c.expires > now))
            ).first()
            await conn.execute(delete(table).where(table.c.session == session))
        return None if found is None else Pending(found.request, found.nonce, found.digest)
