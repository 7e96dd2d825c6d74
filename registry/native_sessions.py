"""Sessions of the native Handle protocol, where every node process finds them.

A client (the CNRI library by default) sets a session up once, proves who it is in a challenge inside it, and
then sends its requests with a MAC made with the session key instead of being challenged again. Any of the
node's processes may take any of those requests, so the session lives here: its key sealed with the
credential key (a copy of the database alone cannot forge a session's MACs), the identity the client named,
the administrator a challenge proved, the protocol version the MACs are made in, and the counters of the
messages seen — a counter seen again is a replayed message.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .keys import NodeKeys, seal, unseal
from .store.engine import Store
from .store.schema import native_session_counters, native_sessions

# Clients ask for a day; a session lasts no longer than that whatever it asks. Until a challenge in it has
# proved its administrator it lasts minutes: sessions cost nothing to ask for, and an idle one holds a row.
MAX_SECONDS = 24 * 3600
UNPROVED_SECONDS = 300


@dataclass(frozen=True, slots=True)
class NativeSession:
    id: int
    key: bytes
    version: tuple[int, int]
    identity: tuple[str, int]  # as the client named it at setup
    admin: tuple[str, int] | None  # as a challenge in the session proved it
    expires: int


class NativeSessions:
    def __init__(self, store: Store, keys: NodeKeys) -> None:
        self._store = store
        self._keys = keys

    async def open(
        self, key: bytes, version: tuple[int, int], identity: tuple[str, int], *, lifetime: int, now: int
    ) -> int:
        """A new session's id (never 0), to last `lifetime` seconds once proved; the sessions expired by
        `now` are forgotten."""
        table = native_sessions
        lifetime = lifetime if 0 < lifetime <= MAX_SECONDS else MAX_SECONDS
        expires = now + min(lifetime, UNPROVED_SECONDS)
        for _ in range(8):
            session = secrets.randbelow(2**31 - 1) + 1
            sealed = seal(
                await self._keys.credential_key(), base64.b64encode(key).decode(), context=b"%d" % session
            )
            row = {
                "id": session, "sealed_key": sealed, "major": version[0], "minor": version[1],
                "identity": identity[0], "identity_index": identity[1], "lifetime": lifetime,
                "expires": expires,
            }  # fmt: skip
            try:
                async with self._store.writer.begin() as conn:
                    await conn.execute(delete(table).where(table.c.expires <= now))
                    await conn.execute(insert(table).values(**row))
                return session
            except IntegrityError:  # the id is taken: draw another
                continue
        raise RuntimeError("no free native session id")

    async def get(self, session: int, now: int) -> NativeSession | None:
        """The session `session`, or None when there is none or it has expired."""
        table = native_sessions
        query = select(table).where(table.c.id == session, table.c.expires > now)
        async with self._store.reader.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        key = unseal(await self._keys.credential_key(), row.sealed_key, context=b"%d" % session)
        admin = None if row.admin is None else (row.admin, row.admin_index)
        return NativeSession(
            session, base64.b64decode(key), (row.major, row.minor), (row.identity, row.identity_index),
            admin, row.expires,
        )  # fmt: skip

    async def authenticate(self, session: int, admin: tuple[str, int], now: int) -> None:
        """Record that a challenge in `session` proved `admin`: the session lasts as long as it asked."""
        table = native_sessions
        proved = {"admin": admin[0], "admin_index": admin[1], "expires": now + table.c.lifetime}
        async with self._store.writer.begin() as conn:
            await conn.execute(update(table).where(table.c.id == session).values(**proved))

    async def counted(self, session: int, counter: int) -> bool:
        """Record a message's counter; False when the session has seen it (a replay). Counter 0 is a
        message outside the count (the library's): always taken."""
        if counter == 0:
            return True
        try:
            async with self._store.writer.begin() as conn:
                await conn.execute(insert(native_session_counters).values(session=session, counter=counter))
        except IntegrityError:
            return False
        return True

    async def close(self, session: int) -> bool:
        """End `session`; False when there was none."""
        async with self._store.writer.begin() as conn:
            await conn.execute(
                delete(native_session_counters).where(native_session_counters.c.session == session)
            )
            done = await conn.execute(delete(native_sessions).where(native_sessions.c.id == session))
        return bool(done.rowcount)
