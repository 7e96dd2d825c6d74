"""The audit on a running node (SQLite and PostgreSQL): writes over Handle REST and SNMS, refusals and the
operator's acts are recorded with who, what, from where and the outcome; the node administrator reads them
all, an enterprise only its own prefix's; `idnode audit` prints them; no secret is ever stored in them. And a
tenant reads only its own data templates."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from registry import Store
from registry.store.schema import audit
from tests.conftest import ACME, ACME_SECRET, ADMIN_SECRET, OTHER, OTHER_SECRET
from tests.resolver.conftest import ACME_USER, ADMIN_USER, OTHER_USER, RunningNode
from tests.resolver.test_snms_story import Snms
from tests.support import cli

MES_USER, MES_PASSWORD = "acme-mes", "mes-password-31"
RECORD_SECRET = "record-seckey-8f2e"
NEW_SECRET = "rotated-secret-77"
URL_VALUE = [{"index": 1, "type": "URL", "data": "https://mes.example.com/1"}]


def snms_item(handle: str) -> dict[str, Any]:
    value = [{"index": 2000, "type": "heatNo", "auth": "", "data": {"format": "string", "value": "H1"}}]
    return {"handle": handle, "value": value}


@pytest.fixture(scope="module")
def admin(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, auth=(ADMIN_USER, ADMIN_SECRET), timeout=60) as client:
        yield client


def as_tenant(node: RunningNode, user: str, secret: str) -> httpx.Client:
    return httpx.Client(base_url=node.url, auth=(user, secret), timeout=60)


@pytest.fixture(scope="module")
def written(node: RunningNode, admin: httpx.Client) -> None:
    """What happens on the node before the audit is read: writes of both tenants over both dialects, a refused
    one, a batch, a user and a secret set by the operator, a record holding a secret key."""
    made = admin.post(
        f"/api/admin/enterprises/{ACME}/users", json={"username": MES_USER, "password": MES_PASSWORD}
    )
    assert made.status_code == 201, made.text
    with as_tenant(node, ACME_USER, ACME_SECRET) as acme, as_tenant(node, OTHER_USER, OTHER_SECRET) as other:
        assert acme.put(f"/api/handles/{ACME}/AUD-REST", json=URL_VALUE).status_code == 201
        keyed = [{"index": 300, "type": "HS_SECKEY", "data": RECORD_SECRET}, *URL_VALUE]
        assert acme.put(f"/api/handles/{ACME}/AUD-KEYED", json=keyed).status_code == 201
        assert other.put(f"/api/handles/{OTHER}/AUD-OTHER", json=URL_VALUE).status_code == 201
        assert other.put(f"/api/handles/{ACME}/AUD-REST", json=URL_VALUE).status_code == 403
    with httpx.Client(base_url=node.url, timeout=60) as http:
        mes = Snms(http, MES_USER, MES_PASSWORD)
        assert mes.call("POST", "/identityv2/data", snms_item(f"{ACME}/AUD-SNMS"))["status"] == 1
        batch = [snms_item(f"{ACME}/AUD-B{n:03d}") for n in range(40)]
        assert mes.call("POST", "/identityv2/data/batchCreate", batch)["status"] == 1
    for secret in (NEW_SECRET, ACME_SECRET):  # rotated and back, for the other tests of the module
        assert admin.put(f"/api/admin/enterprises/{ACME}/secret", json={"secret": secret}).status_code == 200


def events(client: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    answer = client.get("/api/admin/audit", params={"limit": "1000", **filters})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["events"]
    return found


def one(found: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    matching = [e for e in found if all(e[k] == v for k, v in fields.items())]
    assert len(matching) == 1, (fields, found)
    return matching[0]


def test_rest_and_snms_writes_are_recorded_with_actor_source_action_and_outcome(
    admin: httpx.Client, written: None
) -> None:
    del written
    found = events(admin, prefix=ACME)

    rest = one(found, target=f"{ACME}/AUD-REST", outcome="ok")
    snms = one(found, target=f"{ACME}/AUD-SNMS")
    batch = one(found, action="handle.create", count=40)
    assert (rest["action"], rest["actor"], rest["source"]) == (
        "handle.create",
        f"300:0.NA/{ACME}",
        "127.0.0.1",
    )
    assert (snms["action"], snms["actor"], snms["source"]) == (
        "handle.create", f"300:0.NA/{ACME} (user {MES_USER})", "127.0.0.1",
    )  # fmt: skip
    assert batch["target"].startswith(f"{ACME}/AUD-B000, {ACME}/AUD-B001")
    assert one(found, action="user.create")["target"] == MES_USER
    assert len([e for e in found if e["action"] == "secret.set"]) == 2


def test_a_refused_write_is_recorded_as_denied(admin: httpx.Client, written: None) -> None:
    del written
    denied = one(events(admin, outcome="denied", prefix=ACME), target=f"{ACME}/AUD-REST")

    assert (denied["action"], denied["actor"], denied["source"]) == (
        "handle.write",
        f"300:0.NA/{OTHER}",
        "127.0.0.1",
    )


def test_an_enterprise_reads_its_own_prefix_only(node: RunningNode, written: None) -> None:
    del written
    with as_tenant(node, ACME_USER, ACME_SECRET) as acme, as_tenant(node, OTHER_USER, OTHER_SECRET) as other:
        acme_view, other_view = events(acme), events(other)
        elsewhere = acme.get("/api/admin/audit", params={"prefix": OTHER})

    assert acme_view
    assert {e["prefix"] for e in acme_view} == {ACME}
    assert {e["prefix"] for e in other_view} == {OTHER}
    assert not [e for e in acme_view if e["target"] == f"{OTHER}/AUD-OTHER"]
    assert one(acme_view, outcome="denied")["actor"] == f"300:0.NA/{OTHER}"  # tried on acme's prefix
    assert (elsewhere.status_code, elsewhere.json()["responseCode"]) == (403, 400)


def test_the_administration_api_stays_closed_to_tenants_and_says_so_in_the_audit(
    node: RunningNode, admin: httpx.Client
) -> None:
    with as_tenant(node, OTHER_USER, OTHER_SECRET) as other:
        assert other.get("/api/admin/enterprises").status_code == 403

    refused = events(admin, action="admin.access")[0]
    assert (refused["outcome"], refused["actor"], refused["target"]) == (
        "denied", f"300:0.NA/{OTHER}", "GET /api/admin/enterprises",
    )  # fmt: skip


@pytest.mark.parametrize(
    "bad", [{"since": "yesterday"}, {"limit": "0"}, {"limit": "many"}, {"cursor": "x1"}, {"prefix": "a/b"}]
)
def test_bad_filters_are_400_in_json(admin: httpx.Client, bad: dict[str, str]) -> None:
    answer = admin.get("/api/admin/audit", params=bad)

    assert answer.status_code == 400
    assert answer.json()["responseCode"] in (4, 102)  # a protocol error; an invalid handle for the prefix


def test_pages_and_family_filters(admin: httpx.Client, written: None) -> None:
    del written
    first = admin.get("/api/admin/audit", params={"action": "handle", "limit": "2"}).json()
    second = admin.get(
        "/api/admin/audit", params={"action": "handle", "limit": "2", "cursor": first["next"]}
    ).json()

    assert len(first["events"]) == 2
    assert first["next"]
    assert first["events"][-1]["id"] > second["events"][0]["id"]
    assert all(e["action"].startswith("handle.") for e in first["events"] + second["events"])


def test_no_secret_is_ever_stored_in_the_audit(node: RunningNode, written: None) -> None:
    del written

    async def stored() -> list[str]:
        store = Store.open(node.env["IDNODE_DATABASE_URL"], pool_size=1)
        try:
            async with store.reader.connect() as conn:
                return [json.dumps(list(map(str, row))) for row in await conn.execute(select(audit))]
        finally:
            await store.close()

    rows = asyncio.run(stored())
    assert len(rows) > 10
    for secret in (ACME_SECRET, OTHER_SECRET, ADMIN_SECRET, MES_PASSWORD, RECORD_SECRET, NEW_SECRET):
        assert not [row for row in rows if secret in row], secret


def test_idnode_audit_prints_the_events_locally_and_through_the_node(
    node: RunningNode, written: None
) -> None:
    del written
    local = cli(["audit", "--prefix", ACME, "--action", "enterprise"], node.env).stdout.splitlines()
    remote_args = ["audit", "--node", node.url, "--user", f"300:0.NA/{ACME}", "--secret", ACME_SECRET]
    remote = cli([*remote_args, "--outcome", "denied", "--limit", "1"], node.env)

    assert [line.split("\t")[1:3] for line in local] == [["ok", "enterprise.create"]]
    assert local[0].split("\t")[4].startswith("local")  # made by `idnode enterprise add` on the database
    (denied,) = remote.stdout.splitlines()
    at, outcome, action, actor, source, prefix, target, count, _ = denied.split("\t")
    assert (outcome, action, actor, source, prefix, target) == (
        "denied", "handle.write", f"300:0.NA/{OTHER}", "127.0.0.1", ACME, f"{ACME}/AUD-REST",
    )  # fmt: skip
    assert (at[-1], count) == ("Z", "1")


def steel_coil(prefix: str) -> dict[str, Any]:
    text = resources.files("registry.template_data").joinpath("steel-coil.json").read_text("utf-8")
    body: dict[str, Any] = json.loads(text) | {"prefix": prefix, "version": "7.0"}
    return body


def test_a_tenant_reads_its_own_templates_not_another_tenants(node: RunningNode) -> None:
    with httpx.Client(base_url=node.url, timeout=60) as http:
        acme, other = Snms(http, ACME, ACME_SECRET), Snms(http, OTHER, OTHER_SECRET)
        assert acme.call("POST", "/snms/api/v5/template", steel_coil(ACME))["status"] == 1

        own = acme.call("GET", "/snms/api/v5/template", prefix=ACME, version="7.0")
        peeked = [
            other.call("GET", "/snms/api/v5/template", prefix=ACME, version="7.0"),
            other.call("GET", "/snms/api/v3/template", prefix=ACME),
            other.call("GET", "/snms/api/v5/template", prefix=ACME, version="no-such-version"),
        ]
        others_own = other.call("GET", "/snms/api/v5/template", prefix=OTHER)

    assert (own["status"], own["data"]["version"]) == (1, "7.0")
    assert [p["status"] for p in peeked] == [-3, -3, -3]
    assert all(p["data"] is None for p in peeked)
    assert (others_own["status"], others_own["data"]) == (1, [])
