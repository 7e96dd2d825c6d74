"""The authorisation attacks of issue 13, replayed against a running node (SQLite and PostgreSQL) over Handle
REST, SNMS and the administration API: each refused in the dialect's own terms, while the owner keeps every
right."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ACME_SECRET, ADMIN_SECRET, OTHER_SECRET
from tests.resolver.conftest import ADMIN_USER, RunningNode
from tests.resolver.test_handle_rest import ACME_AUTH, OTHER_AUTH, expect, put
from tests.resolver.test_snms_story import Snms

INVALID_ADMIN, INSUFFICIENT_PERMISSIONS = 400, 401
OWNER = {"handle": "0.NA/88.999.1", "index": 200, "permissions": "011111110011"}
EVERYTHING = {"handle": "0.NA/88.999.2", "index": 300, "permissions": "111111111111"}


def admin_value(index: int, value: dict[str, Any]) -> dict[str, Any]:
    return {"index": index, "type": "HS_ADMIN", "data": {"format": "admin", "value": value}}


@pytest.fixture
def shared(http: httpx.Client, request: pytest.FixtureRequest) -> str:
    """Acme's record, on which the other enterprise was granted modify-admin and value rights only."""
    handle = f"88.999.1/{request.node.name}"
    values = [
        {"index": 1, "type": "URL", "data": "https://mes.example.com/shared"},
        admin_value(100, OWNER),
        admin_value(101, {"handle": "0.NA/88.999.2", "index": 300, "permissions": "000011110000"}),
        {"index": 2000, "type": "batch", "data": "B1"},
    ]
    expect(put(http, handle, values), 201, 1)
    return handle


def refused(response: httpx.Response, code: int = INSUFFICIENT_PERMISSIONS) -> str:
    message: str = expect(response, 403, code)["message"]
    return message


def test_a_tenant_with_value_rights_cannot_grant_itself_more_nor_delete(
    http: httpx.Client, shared: str
) -> None:
    before = http.get(f"/api/handles/{shared}").json()["values"]

    assert "add admin" in refused(
        put(http, shared, [admin_value(102, EVERYTHING)], auth=OTHER_AUTH, index=102)
    )
    assert "may not grant" in refused(
        put(http, shared, [admin_value(101, EVERYTHING)], auth=OTHER_AUTH, index=101)
    )
    mine = {**OWNER, "handle": "0.NA/88.999.2", "index": 300}
    assert "may not grant" in refused(put(http, shared, [admin_value(100, mine)], auth=OTHER_AUTH, index=100))
    assert "delete handle" in refused(http.delete(f"/api/handles/{shared}", auth=OTHER_AUTH))
    assert "remove admin" in refused(
        http.delete(f"/api/handles/{shared}", params={"index": 100}, auth=OTHER_AUTH)
    )
    without_owner = [v for v in before if v["index"] != 100]
    assert "remove admin" in refused(put(http, shared, without_owner, auth=OTHER_AUTH))

    assert http.get(f"/api/handles/{shared}").json()["values"] == before
    url = {"index": 1, "type": "URL", "data": "https://supplier.example.com/fixed"}
    expect(put(http, shared, [url], auth=OTHER_AUTH, index=1), 200, 1)  # what it was granted, it may do


def test_the_owner_still_may_do_all_of_it(http: httpx.Client, shared: str) -> None:
    expect(put(http, shared, [admin_value(102, EVERYTHING)], index=102), 201, 1)
    expect(put(http, shared, [admin_value(101, EVERYTHING)], index=101), 200, 1)
    expect(http.delete(f"/api/handles/{shared}", params={"index": [101, 102]}, auth=ACME_AUTH), 200, 1)
    expect(http.delete(f"/api/handles/{shared}", auth=ACME_AUTH), 200, 1)
    expect(http.get(f"/api/handles/{shared}"), 404, 100)


def test_an_enterprise_that_nothing_names_is_no_administrator(http: httpx.Client) -> None:
    url = [{"index": 1, "type": "URL", "data": "https://mes.example.com/x"}]

    assert "may not add handle" in refused(put(http, "88.999.2/ACME-WAS-HERE", url), INVALID_ADMIN)


def test_a_prefix_inside_or_around_another_enterprises_is_not_allocated(node: RunningNode) -> None:
    with httpx.Client(base_url=node.url, auth=(ADMIN_USER, ADMIN_SECRET), timeout=30) as admin:
        inside = admin.post(
            "/api/admin/enterprises",
            json={
                "name": "Enterprise C",
                "creditCode": "91350100M000100Y43",
                "prefix": "88.999.1.7",
                "secret": "c",
            },
        )
        further = admin.post("/api/admin/enterprises/88.999.2/prefixes", json={"prefix": "88.999.1.7"})
        own = admin.post("/api/admin/enterprises/88.999.1/prefixes", json={"prefix": "88.999.1.8"})
        listed = admin.get("/api/prefixes").json()["prefixes"]

    assert "inside prefix 88.999.1" in expect(inside, 409, 101)["message"]
    assert "inside prefix 88.999.1" in expect(further, 409, 101)["message"]
    assert own.status_code == 201, own.text
    assert "88.999.1.7" not in listed
    assert "88.999.1.8" in listed


def test_writing_under_a_derived_prefix_nobody_allocated_is_refused(http: httpx.Client) -> None:
    url = [{"index": 1, "type": "URL", "data": "https://mes.example.com/x"}]

    assert "not allocated" in refused(put(http, "88.999.1.5/X", url), INVALID_ADMIN)
    derived = [admin_value(100, OWNER)]
    assert "add derived prefix" in refused(put(http, "0.NA/88.999.1.5", derived))
    # Reads follow the same rule: a prefix without its prefix handle does not live here.
    expect(http.get("/api/handles/88.999.1.5/X"), 400, 301)


@pytest.fixture
def snms(http: httpx.Client) -> tuple[Snms, Snms]:
    """Acme's and the other enterprise's administrators, logged in through SNMS."""
    return Snms(http, "88.999.1", ACME_SECRET), Snms(http, "88.999.2", OTHER_SECRET)


def test_snms_refuses_with_minus_3_and_lets_the_owner_through(shared: str, snms: tuple[Snms, Snms]) -> None:
    acme, other = snms
    batch = [{"index": 2000, "type": "batch", "auth": "", "data": {"format": "string", "value": "B2"}}]

    granted = other.call("PUT", "/identityv2/data", {"handle": shared, "value": batch})
    deleted = other.call("DELETE", "/identityv2/data", {"handle": shared})
    batch_deleted = other.call("DELETE", "/identityv2/data/batchDelete", [shared])
    created = other.call("POST", "/identityv2/data", {"handle": "88.999.1/BY-OTHER", "value": batch})
    derived = acme.call("POST", "/identityv2/data", {"handle": "88.999.1.5/BY-ACME", "value": batch})

    assert granted["status"] == 1  # value rights it was granted
    assert [deleted["status"], created["status"], derived["status"]] == [-3, -3, -3]
    assert "delete handle" in deleted["message"]
    assert [item["code"] for item in batch_deleted["data"]] == [-3]
    assert acme.call("DELETE", "/identityv2/data", {"handle": shared})["status"] == 1
