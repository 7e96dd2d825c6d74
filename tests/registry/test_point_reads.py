"""The resolver's point reads on PostgreSQL hand their connections back without asyncpg's per-release reset
(a round trip a read): a connection comes back as clean as a read needs it, even one left in a transaction."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from registry.store.point_reads import PostgresReader


async def test_a_connection_left_in_a_transaction_comes_back_out_of_it(pg_url: str) -> None:
    reader = PostgresReader(make_url(pg_url), pool_size=1)
    try:
        pool = await reader._get_pool()
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("SET LOCAL statement_timeout = 1")
            assert conn.is_in_transaction()
        async with pool.acquire() as again:  # the pool's only connection: the same one
            assert not again.is_in_transaction()
            assert await again.fetchval("SHOW statement_timeout") != "1ms"
        assert await reader.one("88.999.1/NOT-THERE") is None
    finally:
        await reader.close()
