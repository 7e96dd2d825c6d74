"""The resolver's caches across real processes: coherence after writes, and what happens when Redis or the
database fails. Nodes are `idnode serve` processes; Redis and PostgreSQL are real servers."""

from __future__ import annotations

import asyncio
import functools
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import ACME_SECRET
from tests.redis_servers import RedisServer
from tests.resolver.conftest import ACME_USER, set_up_node
from tests.support import PG_ADMIN_URL, NodeProcess, cli, create_database, drop_database

PART = "88.999.1/COHERENT-1"
AUTH = (ACME_USER, ACME_SECRET)


def put(url: str, handle: str, value: str) -> None:
    body = [{"index": 2000, "type": "batchNo", "data": value}]
    response = httpx.put(f"{url}/api/handles/{handle}", json=body, auth=AUTH, timeout=10)
    assert response.status_code in (200, 201), response.text  # replaced, or created


def value_at(url: str, handle: str) -> str | None:
    # A new connection each time, so that the requests spread over the node's workers.
    body = httpx.get(f"{url}/api/handles/{handle}", timeout=10).json()
    return body["values"][0]["data"]["value"] if body["responseCode"] == 1 else None


@pytest.fixture
def pg_database() -> Iterator[str]:
    name, url = create_database()
    try:
        yield url
    finally:
        drop_database(name)


def two_nodes(env: dict[str, str], tmp_path: Path) -> list[NodeProcess]:
    set_up_node(env)
    return [NodeProcess(env, workers=2).start(tmp_path), NodeProcess(env, workers=2).start(tmp_path)]


def check_no_old_record_after_a_put(nodes: list[NodeProcess]) -> None:
    urls = [node.url for node in nodes]
    put(urls[0], PART, "v0")
    for _ in range(10):  # every worker of every node has the record cached
        for url in urls:
            assert value_at(url, PART) == "v0"
    for round_ in range(1, 31):
        put(urls[round_ % 2], PART, f"v{round_}")
        for url in urls:
            for _ in range(3):
                assert value_at(url, PART) == f"v{round_}", f"an old record after PUT {round_}"


def test_without_redis_two_nodes_on_one_sqlite_file_never_serve_an_old_record(tmp_path: Path) -> None:
    nodes = two_nodes({"IDNODE_DATABASE_URL": f"sqlite:///{tmp_path}/idnode.db"}, tmp_path)
    try:
        check_no_old_record_after_a_put(nodes)
    finally:
        for node in nodes:
            node.stop()


@pytest.mark.parametrize("redis_kind", ["server", "cluster"])
def test_nodes_sharing_redis_and_postgresql_never_serve_an_old_record(
    redis_kind: str, pg_database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("redis_server" if redis_kind == "server" else "redis_cluster").url
    env = {"IDNODE_DATABASE_URL": pg_database, "IDNODE_REDIS_URL": redis_url}
    nodes = two_nodes(env, tmp_path)
    try:
        check_no_old_record_after_a_put(nodes)
    finally:
        for node in nodes:
            node.stop()


async def _allow_connections(url: str, allowed: bool) -> None:
    database = url.rpartition("/")[2]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1"
            await conn.execute(sql, database)
    finally:
        await conn.close()


def database_down(url: str) -> None:
    asyncio.run(_allow_connections(url, False))


def database_up(url: str) -> None:
    asyncio.run(_allow_connections(url, True))


@pytest.mark.parametrize("layers", ["l1", "l2"])
def test_while_the_database_is_down_cached_answers_are_served_stale_and_misses_fail_fast(
    layers: str,
    pg_database: str,
    redis_server: RedisServer,
    tmp_path: Path,
    metrics: Callable[[str], dict[str, float]],
) -> None:
    env = {
        "IDNODE_DATABASE_URL": pg_database,
        "IDNODE_REDIS_URL": redis_server.url,
        "IDNODE_CACHE_LAYERS": layers,
        "IDNODE_CACHE_MAX_TTL": "1",
        "IDNODE_STORE_RETRY_MS": "300",
    }
    set_up_node(env)
    node = NodeProcess(env).start(tmp_path)
    try:
        put(node.url, PART, "cached")
        assert value_at(node.url, PART) == "cached"
        time.sleep(1.5)  # past freshness: from now on the answer needs the database

        database_down(pg_database)
        try:
            stale = httpx.get(f"{node.url}/api/handles/{PART}", timeout=10)
            started = time.monotonic()
            miss = httpx.get(f"{node.url}/api/handles/88.999.1/NEVER-ASKED", timeout=10)
            miss_seconds = time.monotonic() - started
            during = metrics(node.url)
        finally:
            database_up(pg_database)

        assert stale.status_code == 200
        assert stale.json()["values"][0]["data"]["value"] == "cached"
        assert stale.headers["warning"].startswith("110")
        assert (miss.status_code, miss.json()["responseCode"]) == (503, 3)
        assert miss_seconds < 1.0
        assert during["idnode_store_up"] == 0
        assert during["idnode_stale_answers_total"] >= 1

        time.sleep(0.5)
        recovered = httpx.get(f"{node.url}/api/handles/88.999.1/NEVER-ASKED", timeout=10)
        assert (recovered.status_code, recovered.json()["responseCode"]) == (404, 100)
        assert metrics(node.url)["idnode_store_up"] == 1
    finally:
        node.stop()


def test_while_redis_is_down_answers_come_from_the_database_and_redis_is_used_again_after(
    pg_database: str, redis_server: RedisServer, tmp_path: Path, metrics: Callable[[str], dict[str, float]]
) -> None:
    env = {
        "IDNODE_DATABASE_URL": pg_database,
        "IDNODE_REDIS_URL": redis_server.url,
        "IDNODE_JOURNAL_POLL_MS": "200",
    }
    set_up_node(env)
    node = NodeProcess(env).start(tmp_path)
    try:
        put(node.url, PART, "before")
        assert value_at(node.url, PART) == "before"

        redis_server.kill()
        assert value_at(node.url, PART) == "before"
        put(node.url, PART, "during")  # the write still works, and is seen at once
        assert value_at(node.url, PART) == "during"
        assert metrics(node.url)["idnode_redis_up"] == 0

        redis_server.restart()
        deadline = time.monotonic() + 15
        while (metrics(node.url)["idnode_redis_up"], metrics(node.url)["idnode_l1_usable"]) != (1, 1):
            assert time.monotonic() < deadline, "the node did not reconnect to Redis by itself"
            time.sleep(0.2)
        put(node.url, PART, "after")
        assert value_at(node.url, PART) == "after"
        hits = metrics(node.url)["idnode_l1_hits_total"]
        assert value_at(node.url, PART) == "after"
        assert metrics(node.url)["idnode_l1_hits_total"] == hits + 1  # caches in use again
    finally:
        node.stop()


def wait_for(condition: Callable[[], bool], what: str, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_with_redis_down_then_the_database_cached_records_are_served_stale_and_both_recover_in_either_order(
    pg_database: str, redis_server: RedisServer, tmp_path: Path, metrics: Callable[[str], dict[str, float]]
) -> None:
    env = {
        "IDNODE_DATABASE_URL": pg_database,
        "IDNODE_REDIS_URL": redis_server.url,
        "IDNODE_STORE_RETRY_MS": "300",
        "IDNODE_JOURNAL_POLL_MS": "200",
    }
    set_up_node(env)
    node = NodeProcess(env).start(tmp_path)
    try:
        for round_, database_first in enumerate([True, False]):
            put(node.url, PART, f"cached-{round_}")
            assert value_at(node.url, PART) == f"cached-{round_}"

            redis_server.kill()
            wait_for(lambda: metrics(node.url)["idnode_redis_up"] == 0, "the node did not see Redis go")
            assert value_at(node.url, PART) == f"cached-{round_}"  # from the database, which is still up
            database_down(pg_database)
            try:
                stale = httpx.get(f"{node.url}/api/handles/{PART}", timeout=10)
                started = time.monotonic()
                miss = httpx.get(f"{node.url}/api/handles/88.999.1/NEVER-ASKED-{round_}", timeout=10)
                miss_seconds = time.monotonic() - started
            finally:
                if database_first:
                    database_up(pg_database)
                    redis_server.restart()
                else:
                    redis_server.restart()
                    database_up(pg_database)

            assert stale.status_code == 200, stale.text
            assert stale.json()["values"][0]["data"]["value"] == f"cached-{round_}"
            assert stale.headers["warning"].startswith("110")
            assert (miss.status_code, miss.json()["responseCode"]) == (503, 3)
            assert miss_seconds < 1.0

            wait_for(lambda: metrics(node.url)["idnode_redis_up"] == 1, "Redis was not used again")
            never = f"{node.url}/api/handles/88.999.1/NEVER-{round_}"
            wait_for(lambda url=never: httpx.get(url).status_code == 404, "the database was not used again")
            put(node.url, PART, f"after-{round_}")
            assert value_at(node.url, PART) == f"after-{round_}"
    finally:
        node.stop()


Status = tuple[float, str, str, int]  # when a request was sent, its method and path, its answer's status


def load(url: str, paths: list[str], until: float, statuses: list[Status], *, writes: bool = False) -> None:
    """GET `paths` in turn until `until` (with `writes`, every tenth request a PUT); note every status."""
    body = [{"index": 2000, "type": "batchNo", "data": "under load"}]
    with httpx.Client(base_url=url, timeout=10) as client:
        for n in itertools.count():
            now = time.monotonic()
            if now >= until:
                return
            path = paths[n % len(paths)]
            if writes and n % 10 == 0:
                statuses.append((now, "PUT", path, client.put(path, json=body, auth=AUTH).status_code))
            else:
                statuses.append((now, "GET", path, client.get(path).status_code))


@contextmanager
def running(*users: Callable[[], None]) -> Iterator[None]:
    """Each of `users` in a thread of its own while the block runs; the block ends once they all have."""
    threads = [threading.Thread(target=user) for user in users]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for thread in threads:
            thread.join()


def test_redis_killed_under_load_fails_no_request(
    pg_database: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = {"IDNODE_DATABASE_URL": pg_database, "IDNODE_REDIS_URL": redis_server.url}
    set_up_node(env)
    node = NodeProcess(env, workers=2).start(tmp_path)
    paths = [f"/api/handles/88.999.1/LOADED-{n}" for n in range(20)]
    try:
        for path in paths:
            put(node.url, path.removeprefix("/api/handles/"), "v0")
        statuses: list[Status] = []
        until = time.monotonic() + 6
        users = [
            functools.partial(load, node.url, paths[k::4], until, statuses, writes=True) for k in range(4)
        ]
        with running(*users):
            time.sleep(1.5)
            killed = time.monotonic()
            redis_server.kill()
            time.sleep(2)
            redis_server.restart()
            back = time.monotonic()
        put(node.url, paths[0].removeprefix("/api/handles/"), "last")
        last = value_at(node.url, paths[0].removeprefix("/api/handles/"))
    finally:
        node.stop()

    failed = [
        (round(at - killed, 2), method, code) for at, method, _, code in statuses if code not in (200, 201)
    ]
    assert failed == []
    during = [method for at, method, _, _ in statuses if killed < at < back]
    assert (during.count("GET") > 20, during.count("PUT") > 2) == (True, True)  # the load went on meanwhile
    assert last == "last"


MISS = "/api/handles/88.999.1/MISS-"


def test_a_database_restarted_under_load_fails_only_misses_and_only_while_it_is_down(
    pg_database: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = {
        "IDNODE_DATABASE_URL": pg_database,
        "IDNODE_REDIS_URL": redis_server.url,
        "IDNODE_STORE_RETRY_MS": "300",
    }
    set_up_node(env)
    node = NodeProcess(env, workers=2).start(tmp_path)
    cached = [f"/api/handles/88.999.1/LOADED-{n}" for n in range(10)]
    try:
        for path in cached:
            put(node.url, path.removeprefix("/api/handles/"), "v0")
            for _ in range(4):  # in both workers' caches
                assert httpx.get(f"{node.url}{path}").status_code == 200
        statuses: list[Status] = []
        until = time.monotonic() + 6
        misses = [f"{MISS}{n}" for n in range(10_000)]  # each asked once: every one a database read
        readers = [functools.partial(load, node.url, paths, until, statuses) for paths in (cached,) * 3]
        with running(*readers, functools.partial(load, node.url, misses, until, statuses)):
            time.sleep(1.5)
            down = time.monotonic()
            database_down(pg_database)
            time.sleep(2)
            database_up(pg_database)
            up = time.monotonic()
    finally:
        node.stop()

    failed = [
        (round(at - down, 2), path, code)
        for at, _, path, code in statuses
        if code != 200 and MISS not in path
    ]
    assert failed == []  # cached reads never fail
    missed = [(at, code) for at, _, path, code in statuses if MISS in path]
    assert {code for _, code in missed} == {404, 503}  # not found while it is up, unavailable while down
    late = [round(at - up, 2) for at, code in missed if code == 503 and not down - 0.5 <= at <= up + 1.0]
    assert late == []  # fast failure only while the database is down (and one retry interval after)
    assert sum(1 for at, code in missed if at > up + 1.0 and code == 404) > 10  # misses answered again


@pytest.mark.parametrize("with_redis", [False, True])
def test_a_prefix_the_cli_adds_resolves_at_once_on_a_running_node(
    with_redis: bool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{tmp_path}/idnode.db"}
    if with_redis:
        env["IDNODE_REDIS_URL"] = request.getfixturevalue("redis_server").url
    set_up_node(env)
    node = NodeProcess(env, workers=2).start(tmp_path)
    try:
        for _ in range(6):  # every worker now holds "not found" for the prefix handle
            assert httpx.get(f"{node.url}/api/handles/0.NA/88.999.3", timeout=10).status_code == 404
        add = ["enterprise", "add", "--prefix", "88.999.3", "--name", "Later Co", "--credit-code"]
        started = time.monotonic()
        cli([*add, "91350100M000100Y43", "--secret", "s3"], env)
        assert time.monotonic() - started < 5, "the command waited for confirmations it never got"

        for _ in range(6):
            assert httpx.get(f"{node.url}/api/handles/0.NA/88.999.3", timeout=10).status_code == 200
    finally:
        node.stop()


def test_a_node_answering_from_redis_alone_serves_hits_and_new_writes(
    redis_server: RedisServer, tmp_path: Path, metrics: Callable[[str], dict[str, float]]
) -> None:
    env = {
        "IDNODE_DATABASE_URL": f"sqlite:///{tmp_path}/idnode.db",
        "IDNODE_REDIS_URL": redis_server.url,
        "IDNODE_CACHE_LAYERS": "l2",
    }
    set_up_node(env)
    node = NodeProcess(env).start(tmp_path)
    try:
        put(node.url, PART, "first")
        assert value_at(node.url, PART) == "first"
        time.sleep(0.2)  # the fill reaches Redis after the answer
        assert value_at(node.url, PART) == "first"
        batch = httpx.post(f"{node.url}/api/resolve", json={"handles": [PART, "88.999.1/NONE"]}, timeout=10)
        put(node.url, PART, "second")

        assert [r["responseCode"] for r in batch.json()["results"]] == [1, 100]
        assert value_at(node.url, PART) == "second"
        assert metrics(node.url)["idnode_l2_hits_total"] >= 2
    finally:
        node.stop()


def test_an_snms_detail_is_served_from_the_cache_and_stale_while_the_database_is_down(
    pg_database: str, tmp_path: Path, metrics: Callable[[str], dict[str, float]]
) -> None:
    env = {
        "IDNODE_DATABASE_URL": pg_database,
        "IDNODE_CACHE_MAX_TTL": "1",
        "IDNODE_STORE_RETRY_MS": "300",
    }
    set_up_node(env)
    node = NodeProcess(env).start(tmp_path)
    try:
        put(node.url, PART, "from-snms")
        login = httpx.post(
            f"{node.url}/identity/token", json={"username": "88.999.1", "password": ACME_SECRET}
        )
        headers = {"Authorization": f"Bearer {login.json()['data']['token']}"}

        def detail() -> httpx.Response:
            return httpx.get(f"{node.url}/identityv2/data/detail", params={"handle": PART}, headers=headers)

        first = detail()
        hits = metrics(node.url)["idnode_l1_hits_total"]
        second = detail()
        assert metrics(node.url)["idnode_l1_hits_total"] == hits + 1
        assert second.content == first.content
        # The token was checked just now; past the answer's freshness, the database goes away.
        time.sleep(1.5)
        database_down(pg_database)
        try:
            stale = detail()
        finally:
            database_up(pg_database)

        assert first.json()["data"]["value"][0]["data"]["value"] == "from-snms"
        assert stale.json() == first.json()
        assert stale.headers["warning"].startswith("110")
        assert metrics(node.url)["idnode_stale_answers_total"] >= 1
    finally:
        node.stop()
