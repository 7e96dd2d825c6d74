"""Per-partner visibility, end to end: a chain leader shares a drawing number with one supplier only.

Two `idnode serve` processes share the database (SQLite and PostgreSQL) and a real Redis, so every answer
below is made from each cache layer in turn — L1 of the process that read the record, Redis (L2) in the other
— and after writes, from what the invalidations left. Readers: the chain leader 88.999.1 (the owner), the
supplier 88.999.2 the drawing is shared with, the supplier 88.999.3 it is not, the node administrator, and
anonymous callers; over Handle REST GET, batch resolution and the SNMS detail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ACME_SECRET, ADMIN_SECRET, OTHER_SECRET
from tests.redis_servers import RedisServer
from tests.resolver.conftest import ACME_USER, ADMIN_USER, OTHER_USER, set_up_node
from tests.support import NodeProcess, cli

THIRD, THIRD_SECRET = "88.999.3", "third-secret"
DRAWING = "88.999.1/DRAWING-1"
PUBLIC, NOTE, SHARED = 1, 2, 2001
RECORD = [
    {"index": PUBLIC, "type": "URL", "data": "https://acme.example/parts/DRAWING-1"},
    {"index": NOTE, "type": "internalNote", "data": "margin 31%", "permissions": "1100"},
    {"index": SHARED, "type": "drawingNo", "data": "DWG-4711", "readers": ["88.999.2"]},
]

Auth = tuple[str, str] | None
ANONYMOUS: Auth = None
LEADER: Auth = (ACME_USER, ACME_SECRET)
PARTNER: Auth = (OTHER_USER, OTHER_SECRET)
STRANGER: Auth = (f"300%3A0.NA/{THIRD}", THIRD_SECRET)
NODE_ADMIN: Auth = (ADMIN_USER, ADMIN_SECRET)
SNMS_LOGINS = {
    LEADER: ("88.999.1", ACME_SECRET),
    PARTNER: ("88.999.2", OTHER_SECRET),
    STRANGER: (THIRD, THIRD_SECRET),
}


@dataclass
class Nodes:
    first: str
    second: str


@pytest.fixture(scope="module")
def nodes(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    redis = RedisServer(tmp_path_factory.mktemp("redis")).start()
    env = {"IDNODE_DATABASE_URL": database, "IDNODE_REDIS_URL": redis.url}
    third = ["--prefix", THIRD, "--name", "Third Forge", "--credit-code", "91350100M000100Y43"]
    workdir = tmp_path_factory.mktemp("nodes")
    started: list[NodeProcess] = []
    try:
        set_up_node(env)
        cli(["enterprise", "add", *third, "--secret", THIRD_SECRET], env)
        started = [NodeProcess(env).start(workdir), NodeProcess(env).start(workdir)]
        yield Nodes(started[0].url, started[1].url)
    finally:
        for process in started:
            process.stop()
        redis.stop()


def put(url: str, values: list[dict[str, Any]], handle: str = DRAWING, **params: str) -> None:
    response = httpx.put(f"{url}/api/handles/{handle}", json=values, params=params, auth=LEADER, timeout=30)
    assert response.status_code in (200, 201), response.text


def get(url: str, auth: Auth, handle: str = DRAWING, **params: str) -> httpx.Response:
    response = httpx.get(f"{url}/api/handles/{handle}", params=params, auth=auth, timeout=30)
    assert response.status_code == 200, response.text
    return response


def rest(url: str, auth: Auth, handle: str = DRAWING, **params: str) -> list[int]:
    body = get(url, auth, handle, **params).json()
    assert body["handle"] == handle
    return [value["index"] for value in body["values"]]


def batch(url: str, auth: Auth, handles: list[str]) -> list[list[int]]:
    response = httpx.post(f"{url}/api/resolve", json={"handles": handles}, auth=auth, timeout=30)
    assert response.status_code == 200, response.text
    return [[value["index"] for value in result.get("values", [])] for result in response.json()["results"]]


def snms(url: str, auth: Auth, handle: str = DRAWING) -> list[dict[str, Any]]:
    username, password = SNMS_LOGINS[auth]
    with httpx.Client(base_url=url, timeout=30) as http:
        login = http.post("/identity/token", json={"username": username, "password": password}).json()
        assert login["status"] == 1, login
        headers = {"Authorization": f"Bearer {login['data']['token']}"}
        answer = http.get("/identityv2/data/detail", params={"handle": handle}, headers=headers).json()
    assert answer["status"] == 1, answer
    values: list[dict[str, Any]] = answer["data"]["value"]
    return values


def l2_hits(url: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("idnode_l2_hits_total"):
            return float(line.rpartition(" ")[2])
    raise AssertionError("no idnode_l2_hits_total")


@pytest.fixture
def drawing(nodes: Nodes) -> Nodes:
    """The leader's record as RECORD says, written afresh (so that every cache holds none of it)."""
    put(nodes.first, RECORD)
    return nodes


EVERYONE: list[tuple[str, Auth, list[int]]] = [
    ("anonymous", ANONYMOUS, [PUBLIC]),
    ("the supplier it is shared with", PARTNER, [PUBLIC, SHARED]),
    ("another supplier", STRANGER, [PUBLIC]),
    ("the chain leader", LEADER, [PUBLIC, NOTE, SHARED]),
    ("the node administrator", NODE_ADMIN, [PUBLIC, NOTE, SHARED]),
]


def test_each_reader_sees_what_is_shared_with_it_over_get_and_batch_on_both_nodes(drawing: Nodes) -> None:
    # In this order, each process's L1 and Redis hold the record by the time the next reader asks.
    for url in (drawing.first, drawing.second, drawing.first):
        for who, auth, expected in EVERYONE:
            assert rest(url, auth) == expected, f"GET by {who} on {url}"
            assert batch(url, auth, [DRAWING, "88.999.1/NONE", DRAWING]) == [expected, [], expected], who


def test_over_snms_detail_too(drawing: Nodes) -> None:
    for url in (drawing.first, drawing.second):
        assert [v["index"] for v in snms(url, PARTNER)] == [PUBLIC, SHARED]
        assert [v["index"] for v in snms(url, STRANGER)] == [PUBLIC]
        assert [v["index"] for v in snms(url, LEADER)] == [PUBLIC, NOTE, SHARED]


def test_only_the_owner_is_told_whom_a_value_is_shared_with(drawing: Nodes) -> None:
    def shared_value(values: list[dict[str, Any]]) -> dict[str, Any]:
        return next(value for value in values if value["index"] == SHARED)

    partner = get(drawing.first, PARTNER).json()["values"]
    leader = get(drawing.first, LEADER).json()["values"]

    assert "readers" not in shared_value(partner)
    assert shared_value(leader)["readers"] == ["88.999.2"]
    assert "readers" not in shared_value(snms(drawing.second, PARTNER))
    assert shared_value(snms(drawing.second, LEADER))["readers"] == ["88.999.2"]


@pytest.mark.parametrize("first_reader", [PARTNER, LEADER], ids=["partner", "leader"])
def test_an_anonymous_answer_is_byte_for_byte_the_same_whoever_read_the_record_before(
    drawing: Nodes, first_reader: Auth
) -> None:
    before = l2_hits(drawing.second)
    assert rest(drawing.first, first_reader) != [PUBLIC]  # L1 of the first node, and Redis, hold the record
    public = [v for v in get(drawing.first, LEADER).json()["values"] if v["index"] == PUBLIC]
    time.sleep(0.2)  # Redis is filled after the answer is sent
    expected = (
        b'{"responseCode":1,"handle":"' + DRAWING.encode() + b'","values":' + orjson.dumps(public) + b"}"
    )

    for url in (drawing.first, drawing.second, drawing.second):  # L1 hit; L2 hit, then L1 hit
        assert get(url, ANONYMOUS).content == expected
    assert l2_hits(drawing.second) > before  # the second node's answer came from Redis


def test_a_partner_after_anonymous_callers_still_sees_its_value(drawing: Nodes) -> None:
    for url in (drawing.second, drawing.second, drawing.first):
        assert rest(url, ANONYMOUS) == [PUBLIC]
        assert batch(url, ANONYMOUS, [DRAWING]) == [[PUBLIC]]

    assert rest(drawing.first, PARTNER) == [PUBLIC, SHARED]
    assert rest(drawing.second, PARTNER) == [PUBLIC, SHARED]
    assert batch(drawing.second, PARTNER, [DRAWING]) == [[PUBLIC, SHARED]]


def test_readers_changed_by_a_put_take_effect_at_once_everywhere(drawing: Nodes) -> None:
    for url in (drawing.first, drawing.second):  # cached everywhere as RECORD says
        assert rest(url, PARTNER) == [PUBLIC, SHARED]
        assert rest(url, STRANGER) == [PUBLIC]

    moved = {**RECORD[2], "readers": ["88.999.3"]}
    put(drawing.second, [moved], index=str(SHARED))

    for url in (drawing.first, drawing.second):
        assert rest(url, PARTNER) == [PUBLIC]
        assert rest(url, STRANGER) == [PUBLIC, SHARED]
        assert batch(url, PARTNER, [DRAWING]) == [[PUBLIC]]
        assert [v["index"] for v in snms(url, STRANGER)] == [PUBLIC, SHARED]
        assert rest(url, ANONYMOUS) == [PUBLIC]

    published = {key: item for key, item in RECORD[2].items() if key != "readers"}
    put(drawing.first, [published], index=str(SHARED))

    for url in (drawing.first, drawing.second):
        assert rest(url, ANONYMOUS) == [PUBLIC, SHARED]
        assert rest(url, PARTNER) == [PUBLIC, SHARED]


@pytest.mark.parametrize(
    ("auth", "found"), [(ANONYMOUS, False), (STRANGER, False), (PARTNER, True), (LEADER, True)]
)
def test_asking_for_a_value_one_may_not_read_is_asking_for_a_value_that_is_not_there(
    drawing: Nodes, auth: Auth, found: bool
) -> None:
    # As the Handle.Net server answers an anonymous caller asking for a non-public value: values not found.
    body = get(drawing.first, auth, index=str(SHARED)).json()

    if found:
        assert (body["responseCode"], [v["index"] for v in body["values"]]) == (1, [SHARED])
    else:
        assert body == {"responseCode": 200, "values": [], "handle": DRAWING}


def test_type_filters_apply_to_what_the_reader_may_read(drawing: Nodes) -> None:
    assert rest(drawing.first, PARTNER, type="drawingNo") == [SHARED]
    assert rest(drawing.first, LEADER, type="internalNote") == [NOTE]
    assert get(drawing.first, PARTNER, type="internalNote").json()["responseCode"] == 200


def test_public_only_shows_an_authenticated_reader_what_anyone_sees(drawing: Nodes) -> None:
    assert rest(drawing.first, PARTNER, publicOnly="true") == [PUBLIC]
    assert rest(drawing.first, LEADER, publicOnly="") == [PUBLIC]
    assert rest(drawing.first, LEADER, publicOnly="false") == [PUBLIC, NOTE, SHARED]


def test_credentials_that_fail_are_refused_not_read_as_anonymous(nodes: Nodes) -> None:
    wrong = ("300%3A0.NA/88.999.2", "not-the-secret")
    for response in (
        httpx.get(f"{nodes.first}/api/handles/{DRAWING}", auth=wrong, timeout=30),
        httpx.post(f"{nodes.first}/api/resolve", json={"handles": [DRAWING]}, auth=wrong, timeout=30),
    ):
        assert response.status_code == 401
        assert response.json()["responseCode"] == 402


def test_values_are_shared_through_snms_writes_too(nodes: Nodes) -> None:
    leader = SNMS_LOGINS[LEADER]
    handle = "88.999.1/SNMS-DRAWING-1"
    with httpx.Client(base_url=nodes.first, timeout=30) as http:
        token = http.post("/identity/token", json={"username": leader[0], "password": leader[1]}).json()
        headers = {"Authorization": f"Bearer {token['data']['token']}"}
        body = {
            "handle": handle,
            "value": [
                {"index": 2000, "type": "partNo", "auth": "", "data": {"format": "string", "value": "P-1"}},
                {"index": 2001, "type": "drawingNo", "auth": "", "readers": ["88.999.2"],
                 "data": {"format": "string", "value": "DWG-1"}},
            ],
        }  # fmt: skip
        created = http.post("/identityv2/data", json=body, headers=headers).json()
        refused = http.post(
            "/identityv2/data",
            json={**body, "handle": "88.999.1/SNMS-2", "value": [{**body["value"][1], "readers": []}]},
            headers=headers,
        ).json()

    assert created["status"] == 1, created
    assert refused["status"] == -2
    assert "readers" in refused["message"]
    assert rest(nodes.second, ANONYMOUS, handle) == [2000]
    assert rest(nodes.second, PARTNER, handle) == [2000, 2001]
    assert [v.get("readers") for v in snms(nodes.second, LEADER, handle)] == [None, ["88.999.2"]]


def test_malformed_readers_are_refused_as_invalid_values(nodes: Nodes) -> None:
    response = httpx.put(
        f"{nodes.first}/api/handles/88.999.1/BAD-READERS",
        json=[{"index": 1, "type": "URL", "data": "x", "readers": ["not a prefix"]}],
        auth=LEADER,
        timeout=30,
    )

    assert response.status_code == 400
    assert response.json()["responseCode"] == 202
