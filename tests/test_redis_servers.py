"""The Redis helpers start real, private servers and clusters that redis-py can use."""

# ruff: noqa: F811  -- the tests' parameters are the fixtures imported below, as pytest wants them

from __future__ import annotations

import pytest
import redis
from redis.cluster import ClusterNode
from redis.cluster import RedisCluster as ClusterClient
from redis.crc import key_slot

from tests.redis_servers import RedisCluster, RedisServer, redis_cluster, redis_server  # noqa: F401

KEY = "88.999.1/part-1"


def test_server_stores_values(redis_server: RedisServer) -> None:
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as client:
        client.set(KEY, "brake pad")
        assert client.get(KEY) == "brake pad"


def test_server_restarts_on_the_same_port_after_a_crash(redis_server: RedisServer) -> None:
    port = redis_server.port
    redis_server.kill()
    with (
        redis.Redis.from_url(redis_server.url, socket_connect_timeout=1, retry=None) as client,
        pytest.raises(redis.ConnectionError),
    ):
        client.ping()

    redis_server.restart()

    assert redis_server.port == port
    with redis.Redis.from_url(redis_server.url) as client:
        assert client.ping()


def test_server_that_cannot_start_reports_its_log(redis_server: RedisServer) -> None:
    rival = RedisServer(redis_server.directory / "rival", port=redis_server.port)
    with pytest.raises(RuntimeError, match="Address already in use"):
        rival.start()


def test_cluster_spreads_keys_over_three_masters(redis_cluster: RedisCluster) -> None:
    values = {f"88.999.1/part-{i}": str(i) for i in range(50)}
    assert len({key_slot(key.encode()) for key in values}) == len(values)
    startup_nodes = [
        ClusterNode(host, port)  # type: ignore[no-untyped-call]
        for host, port in redis_cluster.startup_nodes
    ]
    client = ClusterClient(startup_nodes=startup_nodes, decode_responses=True)
    try:
        for key, value in values.items():
            client.set(key, value)
        assert {key: client.get(key) for key in values} == values
    finally:
        client.close()

    stored = []
    for node in redis_cluster.nodes:
        with redis.Redis.from_url(node.url) as node_client:
            stored.append(node_client.dbsize())
    assert all(stored)
    assert sum(stored) == len(values)


def test_cluster_slots_are_covered_by_three_masters(redis_cluster: RedisCluster) -> None:
    assert redis_cluster.url == "redis+cluster://" + ",".join(
        f"{host}:{port}" for host, port in redis_cluster.startup_nodes
    )
    for host, port in redis_cluster.startup_nodes:
        with redis.Redis(host=host, port=port, decode_responses=True) as client:
            info = client.cluster("INFO")
            slots = client.cluster("SLOTS")
        assert info["cluster_state"] == "ok"
        assert info["cluster_size"] == "3"
        assert sum(end - start + 1 for start, end, *_ in slots) == 16384
        assert {master_port for _, _, (_, master_port, *_) in slots} == {n.port for n in redis_cluster.nodes}
