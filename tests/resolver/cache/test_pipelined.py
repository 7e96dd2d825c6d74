"""The lean pipelined Redis connection of L2 lookups, against a real redis-server."""

from __future__ import annotations

import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from resolver.cache.pipelined import PipelinedConnection
from tests.redis_servers import RedisServer


async def test_replies_come_back_in_the_order_of_the_keys(redis_server: RedisServer) -> None:
    with redis.Redis.from_url(redis_server.url) as plain:
        for n in range(0, 1000, 3):
            plain.hset(f"k{n}", mapping={"v": f"value {n}", "g": str(n)})
    lean = PipelinedConnection(redis_server.url)

    rows = await lean.hmget_many([f"k{n}" for n in range(1000)], ["v", "g"])

    assert rows[3] == [b"value 3", b"3"]
    assert rows[4] == [None, None]
    assert all((row[0] is not None) == (n % 3 == 0) for n, row in enumerate(rows))
    await lean.close()


async def test_an_error_reply_fails_the_batch_without_breaking_the_connection(
    redis_server: RedisServer,
) -> None:
    with redis.Redis.from_url(redis_server.url) as plain:
        plain.set("a-string", "not a hash")
    lean = PipelinedConnection(redis_server.url)

    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await lean.hmget_many(["a-string", "missing"], ["v"])
    assert await lean.hmget_many(["missing"], ["v"]) == [[None]]
    await lean.close()


async def test_it_reconnects_by_itself_after_redis_restarts(redis_server: RedisServer) -> None:
    lean = PipelinedConnection(redis_server.url)
    await lean.hmget_many(["k"], ["v"])

    redis_server.kill()
    with pytest.raises(RedisConnectionError):
        await lean.hmget_many(["k"], ["v"])
    redis_server.restart()

    assert await lean.hmget_many(["k"], ["v"]) == [[None]]
    await lean.close()


async def test_it_authenticates_and_selects_the_database(redis_server: RedisServer) -> None:
    with redis.Redis.from_url(redis_server.url) as plain:
        plain.config_set("requirepass", "s3cret")
    url = f"redis://:s3cret@127.0.0.1:{redis_server.port}/2"
    with redis.Redis.from_url(url) as plain:
        plain.hset("k", "v", "in db 2")
    lean = PipelinedConnection(url)

    assert await lean.hmget_many(["k"], ["v"]) == [[b"in db 2"]]
    await lean.close()
    wrong = PipelinedConnection(f"redis://:wrong@127.0.0.1:{redis_server.port}/2")
    with pytest.raises(ResponseError):
        await wrong.hmget_many(["k"], ["v"])
    await wrong.close()


async def test_an_unknown_script_is_told_apart_from_other_errors(redis_server: RedisServer) -> None:
    lean = PipelinedConnection(redis_server.url)
    unknown = (b"EVALSHA", b"0" * 40, b"1", b"k")

    with pytest.raises(NoScriptError):
        await lean.call_many([(b"HSET", b"k", b"v", b"1"), unknown])
    assert await lean.call_many([(b"HGET", b"k", b"v"), (b"DEL", b"k")]) == [b"1", 1]
    await lean.close()
