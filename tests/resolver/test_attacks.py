"""The attack run: a supplier (88.999.2) tries, in every dialect, everything it should not be able to do
to the chain leader's data (88.999.1) on a node with Redis and two workers, on SQLite and on PostgreSQL. After
every attempt the leader's record must read back exactly as the leader wrote it, and nothing the attacker sees
may hold the leader's private values."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ACME, ACME_SECRET, OTHER, OTHER_SECRET
from tests.redis_servers import RedisServer
from tests.resolver.conftest import ACME_USER, OTHER_USER, RunningNode, set_up_node
from tests.support import NodeProcess

pytestmark = pytest.mark.slow

SECRET_DRAWING = "DWG-7731-rev-C (confidential)"
RECORD = f"{ACME}/AXLE-0001"
LEADER_VALUES: list[dict[str, Any]] = [
    {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://acme.example/axle/1"}},
    {"index": 2000, "type": "partNo", "data": {"format": "string", "value": "AX-1"}},
    {
        "index": 2001,
        "type": "drawingNo",
        "data": {"format": "string", "value": SECRET_DRAWING},
        "permissions": "1110",  # admin read and write, public read...
    },
]
PRIVATE = {
    "index": 2002,
    "type": "costCny",
    "data": {"format": "string", "value": "1234.50"},
    "permissions": "1100",  # admin read and write only: nobody else reads it
}


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def node(
    database: str, redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningNode]:
    """Two workers sharing one database and one Redis: an answer cached by one is what the other serves."""
    workdir = tmp_path_factory.mktemp("node")
    env = {"IDNODE_DATABASE_URL": database, "IDNODE_REDIS_URL": redis.url}
    set_up_node(env)
    process = NodeProcess(env, workers=2).start(workdir)
    try:
        yield RunningNode(process.url, env, process, workdir)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def leader(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, auth=(ACME_USER, ACME_SECRET), timeout=30) as client:
        assert client.put(f"/api/handles/{RECORD}", json=[*LEADER_VALUES, PRIVATE]).status_code in (200, 201)
        yield client


@pytest.fixture(scope="module")
def attacker(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, auth=(OTHER_USER, OTHER_SECRET), timeout=30) as client:
        yield client


def _snms_token(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    answer = http.post("/identity/token", json={"username": username, "password": password}).json()
    assert answer["status"] == 1, answer
    return {"Authorization": f"Bearer {answer['data']['token']}"}


def _as_written(node: RunningNode) -> list[dict[str, Any]]:
    """The leader's record as an anonymous reader gets it, straight from the database (`auth=true`)."""
    answer = httpx.get(f"{node.url}/api/handles/{RECORD}", params={"auth": "true"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return [{k: v[k] for k in ("index", "type", "data")} for v in answer.json()["values"]]


def _assert_untouched(node: RunningNode) -> None:
    values = _as_written(node)
    assert [v["index"] for v in values] == [1, 2000, 2001], values
    assert values[1]["data"]["value"] == "AX-1"


def _leaks(text: str) -> bool:
    return "1234.50" in text or "costCny" in text


REST_WRITES = [
    ("PUT", f"/api/handles/{RECORD}", [{"index": 1, "type": "URL", "data": "https://evil.example"}], {}),
    ("PUT", f"/api/handles/{RECORD}", [{"index": 2005, "type": "note", "data": "x"}], {"index": "2005"}),
    ("PUT", f"/api/handles/{RECORD}", [{"index": 2000, "type": "partNo", "data": "EVIL"}], {"index": "2000"}),
    ("DELETE", f"/api/handles/{RECORD}", None, {}),
    ("DELETE", f"/api/handles/{RECORD}", None, {"index": "2000"}),
    (
        "PUT",
        f"/api/handles/{ACME}/PLANTED",
        [{"index": 1, "type": "URL", "data": "https://evil.example"}],
        {},
    ),
    (
        "PUT",
        f"/api/handles/0.NA/{ACME}",
        [{"index": 300, "type": "HS_SECKEY", "data": "mine"}],
        {"index": "300"},
    ),
    ("DELETE", f"/api/handles/0.NA/{ACME}", None, {}),
]


@pytest.mark.parametrize(("method", "path", "body", "params"), REST_WRITES)
def test_handle_rest_writes_on_the_leaders_data_are_refused(
    node: RunningNode, leader: httpx.Client, attacker: httpx.Client, method: str, path: str, body: Any,
    params: dict[str, str],
) -> None:  # fmt: skip
    answer = attacker.request(method, path, json=body, params=params)

    assert answer.status_code in (401, 403), answer.text
    assert answer.json()["responseCode"] in (400, 402), answer.text
    _assert_untouched(node)


def test_the_attacker_cannot_list_the_leaders_handles(leader: httpx.Client, attacker: httpx.Client) -> None:
    answer = attacker.get("/api/handles", params={"prefix": ACME})

    assert answer.status_code in (401, 403), answer.text
    assert "AXLE" not in answer.text


def test_no_reader_but_the_leader_sees_its_private_values(
    node: RunningNode, leader: httpx.Client, attacker: httpx.Client
) -> None:
    anonymous = httpx.get(f"{node.url}/api/handles/{RECORD}", timeout=10)
    by_type = httpx.get(f"{node.url}/api/handles/{RECORD}", params={"type": "costCny"}, timeout=10)
    by_index = httpx.get(f"{node.url}/api/handles/{RECORD}", params={"index": "2002"}, timeout=10)
    batch = httpx.post(f"{node.url}/api/resolve", json={"handles": [RECORD]}, timeout=10)
    as_attacker = attacker.get(f"/api/handles/{RECORD}")
    snms = httpx.get(
        f"{node.url}/identityv2/data/detail",
        params={"handle": RECORD},
        headers=_snms_token(attacker, OTHER, OTHER_SECRET),
        timeout=10,
    )

    for answer in (anonymous, by_type, by_index, batch, as_attacker, snms):
        assert answer.status_code < 500, answer.text
        assert not _leaks(answer.text), answer.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/identityv2/data", {"handle": f"{ACME}/SNMS-PLANTED", "templateVersion": "", "value": []}),
        ("PUT", "/identityv2/data", {"handle": RECORD, "templateVersion": "", "value": []}),
        ("DELETE", "/identityv2/data", None),
        ("DELETE", "/identityv2/data/batchDelete", None),
    ],
)
def test_snms_writes_on_the_leaders_data_are_refused(
    node: RunningNode, leader: httpx.Client, attacker: httpx.Client, method: str, path: str, body: Any
) -> None:
    headers = _snms_token(attacker, OTHER, OTHER_SECRET)
    params = {"handle": RECORD} if method == "DELETE" and path.endswith("data") else {}
    if path.endswith("batchDelete"):
        body = {"handles": [RECORD]}
    answer = attacker.request(method, path, json=body, params=params, headers=headers)

    assert answer.status_code < 500, answer.text
    envelope = answer.json()
    refused = envelope["status"] != 1 or all(item.get("code", 1) != 1 for item in envelope.get("data") or [])
    assert refused, envelope
    _assert_untouched(node)


def test_forged_and_borrowed_credentials_are_refused(node: RunningNode, leader: httpx.Client) -> None:
    token = _snms_token(leader, ACME, ACME_SECRET)["Authorization"].removeprefix("Bearer ")
    payload, _, signature = token.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_payload = base64.urlsafe_b64encode(json.dumps({**claims, "sub": OTHER}).encode()).rstrip(b"=")
    forged = f"{forged_payload.decode()}.{signature}"
    wrong_secret = httpx.put(
        f"{node.url}/api/handles/{RECORD}", json=[], auth=(ACME_USER, OTHER_SECRET), timeout=10
    )
    with_forged = httpx.get(
        f"{node.url}/identityv2/data/detail",
        params={"handle": RECORD},
        headers={"Authorization": f"Bearer {forged}"},
        timeout=10,
    )

    assert wrong_secret.status_code == 401, wrong_secret.text
    assert with_forged.json()["status"] != 1, with_forged.text
    _assert_untouched(node)


def test_value_rights_do_not_become_admin_rights(
    node: RunningNode, leader: httpx.Client, attacker: httpx.Client
) -> None:
    """The leader lets the supplier edit the values of one record (no admin bits); the supplier tries to grant
    itself more, delete the record, and take the leader's HS_ADMIN away."""
    shared = f"{ACME}/SHARED-0001"
    grant = {
        "index": 101, "type": "HS_ADMIN",
        "data": {"format": "admin", "value": {"handle": f"0.NA/{OTHER}", "index": 300,
                                              "permissions": "000011110000"}},
    }  # fmt: skip
    own = {
        "index": 100, "type": "HS_ADMIN",
        "data": {"format": "admin", "value": {"handle": f"0.NA/{ACME}", "index": 300,
                                              "permissions": "111111111111"}},
    }  # fmt: skip
    part = {"index": 2000, "type": "partNo", "data": {"format": "string", "value": "SH-1"}}
    assert leader.put(f"/api/handles/{shared}", json=[own, grant, part]).status_code in (200, 201)

    may_edit = attacker.put(
        f"/api/handles/{shared}", params={"index": "2000"}, json=[{**part, "data": "SH-2"}]
    )
    self_grant = attacker.put(
        f"/api/handles/{shared}", params={"index": "102"},
        json=[{**grant, "index": 102, "data": {"format": "admin", "value": {
            "handle": f"0.NA/{OTHER}", "index": 300, "permissions": "111111111111"}}}],
    )  # fmt: skip
    delete = attacker.delete(f"/api/handles/{shared}")
    unseat = attacker.delete(f"/api/handles/{shared}", params={"index": "100"})

    assert may_edit.status_code == 200, may_edit.text
    for refused in (self_grant, delete, unseat):
        assert refused.status_code == 403, refused.text
    kept = leader.get(f"/api/handles/{shared}").json()["values"]
    assert sorted(v["index"] for v in kept) == [100, 101, 2000]


def test_odd_handles_reach_nobody_elses_data(
    node: RunningNode, leader: httpx.Client, attacker: httpx.Client
) -> None:
    odd = [
        f"{OTHER}/../{ACME}/AXLE-0001",
        f"{OTHER}%2F..%2F{ACME}%2FAXLE-0001",
        f"{OTHER}/AXLE-0001' OR '1'='1",
        f"{ACME}/AXLE-0001%00",
        f"{ACME}/AXLE\u200b-0001",
        f"{ACME}/AXLE-0001\u202e",
    ]
    for handle in odd:
        written = attacker.put(f"/api/handles/{handle}", json=[{"index": 1, "type": "URL", "data": "x"}])
        read = attacker.get(f"/api/handles/{handle}")
        assert written.status_code < 500, (handle, written.text)
        assert read.status_code < 500, (handle, read.text)
        assert not _leaks(read.text)
    _assert_untouched(node)


def test_nothing_was_logged_as_a_crash(node: RunningNode, leader: httpx.Client, tmp_path: Path) -> None:
    log = node.process.log.read_text() if node.process.log else ""
    assert "Traceback" not in log
