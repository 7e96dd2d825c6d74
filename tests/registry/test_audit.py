"""The audit trail in process, on SQLite and PostgreSQL: what each write leaves in it (one row for a batch),
refusals after their rollback, an enterprise's view within its own prefixes, paging, filters and retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources

import orjson
import pytest

from registry import (
    Audit,
    AuditEvent,
    Handle,
    HandleValue,
    InvalidInput,
    PermissionDenied,
    Principal,
    RecordInput,
    Services,
    parse_template,
    register_many,
)
from registry.audit import DENIED, OK, parse_time, source
from registry.templates import Template
from tests.conftest import ACME, OTHER

PART = Handle.parse(f"{ACME}/PART-1")


@pytest.fixture(autouse=True)
def from_address() -> Iterator[None]:
    """Requests from 10.0.0.7, as a front end would say."""
    token = source.set("10.0.0.7")
    yield
    source.reset(token)


def steel_coil(prefix: str) -> Template:
    text = resources.files("registry.template_data").joinpath("steel-coil.json").read_text(encoding="utf-8")
    return parse_template(orjson.loads(text) | {"prefix": prefix, "version": "1.0"})


def coils(prefix: str, count: int) -> list[RecordInput]:
    return [
        RecordInput(f"{prefix}/COIL-{n:05d}", [HandleValue.text(2000, "heatNo", f"H{n}")])
        for n in range(count)
    ]


async def events(services: Services, **filters: object) -> list[AuditEvent]:
    page = await services.audit.query(limit=1000, **filters)  # type: ignore[arg-type]
    return page.events


async def test_a_write_is_recorded_with_who_what_and_where(services: Services, acme: Principal) -> None:
    await services.records.put_record(acme, PART, [HandleValue.text(1, "URL", "https://x")])
    await services.records.delete(acme, PART)

    deleted, created = (await events(services, prefix=ACME, action="handle"))[:2]
    assert (created.action, created.outcome, created.target, created.count) == (
        "handle.create",
        OK,
        str(PART),
        1,
    )
    assert (created.actor, created.source, created.prefix) == (str(acme), "10.0.0.7", ACME)
    assert deleted.action == "handle.delete"
    assert abs(created.at - datetime.now(UTC)) < timedelta(minutes=1)


async def test_a_batch_is_one_row_with_its_count_and_first_keys(services: Services, acme: Principal) -> None:
    before = len(await events(services))
    await register_many(services.records, acme, coils(ACME, 500))

    after = await events(services)
    added = after[: len(after) - before]
    assert [(e.action, e.count, e.prefix) for e in added] == [("handle.create", 500, ACME)]
    assert added[0].target.startswith(f"{ACME}/COIL-00000, {ACME}/COIL-00001")
    assert added[0].target.endswith(", …")


async def test_items_a_batch_refuses_are_recorded_denied_under_the_prefix_they_aimed_at(
    services: Services, acme: Principal
) -> None:
    results = await register_many(services.records, acme, coils(ACME, 3) + coils(OTHER, 2))

    assert [r.ok for r in results] == [True, True, True, False, False]
    denied = await events(services, outcome=DENIED)
    assert [(e.action, e.actor, e.prefix, e.count) for e in denied] == [("handle.write", str(acme), OTHER, 2)]


async def test_a_refused_write_is_recorded_as_denied_after_its_rollback(
    services: Services, other: Principal
) -> None:
    with pytest.raises(PermissionDenied):
        await services.records.put_record(other, PART, [HandleValue.text(1, "URL", "https://evil")])

    (event,) = await events(services, outcome=DENIED)
    assert (event.action, event.actor, event.target, event.prefix) == (
        "handle.write",
        str(other),
        str(PART),
        ACME,
    )
    assert await services.reads.stored(PART) is None


async def test_administrative_acts_are_named(services: Services, node_admin: Principal) -> None:
    await services.accounts.add_user(node_admin, prefix=ACME, username="mes-1", password="pw-mes-1")
    await services.accounts.set_user_status(node_admin, "mes-1", "disabled")
    template = steel_coil(ACME)
    await services.templates.add(node_admin, template)

    actions = [(e.action, e.target) for e in await events(services, actor=str(node_admin))][:3]
    assert actions == [
        ("template.create", f"{ACME}/1.0"),
        ("user.disable", "mes-1"),
        ("user.create", "mes-1"),
    ]


async def test_a_refused_template_change_is_named_and_filed_under_its_prefix(
    services: Services, other: Principal
) -> None:
    template = steel_coil(ACME)
    with pytest.raises(PermissionDenied):
        await services.templates.add(other, template)

    (event,) = await events(services, outcome=DENIED)
    assert (event.action, event.prefix, event.actor) == ("template.create", ACME, str(other))


async def test_an_enterprise_sees_its_own_prefix_only(
    services: Services, acme: Principal, other: Principal
) -> None:
    await services.records.put_record(acme, PART, [HandleValue.text(1, "URL", "https://x")])
    await services.records.put_record(
        other, Handle.parse(f"{OTHER}/P"), [HandleValue.text(1, "URL", "https://y")]
    )
    with pytest.raises(PermissionDenied):
        await services.records.delete(other, PART)

    mine = await services.audit.scope_of(acme)
    seen = await events(services, scope=mine)
    assert mine == (ACME,)
    assert {e.prefix for e in seen} == {ACME}
    assert {(e.action, e.outcome) for e in seen} >= {("handle.create", OK), ("handle.write", DENIED)}
    assert await services.audit.scope_of(services.node.admin) is None
    with pytest.raises(PermissionDenied):
        await services.audit.query(scope=mine, prefix=OTHER)
    with pytest.raises(PermissionDenied):
        await services.audit.scope_of(Principal.parse(f"300:{ACME}/SOMEONE"))


async def test_pages_follow_the_cursor_newest_first(services: Services, acme: Principal) -> None:
    for n in range(5):
        await services.records.put_record(
            acme, Handle.parse(f"{ACME}/P-{n}"), [HandleValue.text(1, "URL", "u")]
        )

    mine = {"actor": str(acme), "action": "handle.create"}
    first = await services.audit.query(**mine, limit=3)
    rest = await services.audit.query(**mine, limit=3, cursor=first.next)

    assert [e.target for e in first.events + rest.events] == [f"{ACME}/P-{n}" for n in range(4, -1, -1)]
    assert rest.next is None


@pytest.mark.parametrize(
    "bad", [{"limit": 0}, {"limit": 1001}, {"cursor": "abc"}, {"cursor": "-1"}, {"prefix": "no/prefix"}]
)
async def test_bad_filters_are_refused(services: Services, bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        await services.audit.query(**bad)  # type: ignore[arg-type]


async def test_time_filters_and_retention(services: Services) -> None:
    now = datetime.now(UTC)
    old = Audit(services.store, services.node, clock=lambda: (now - timedelta(days=200)).timestamp())
    await old.record("login", outcome="failed", actor="300:0.NA/88.999.1", prefix=ACME)
    await services.audit.record("login", outcome="throttled", actor="300:0.NA/88.999.1", prefix=ACME)

    assert [e.outcome for e in await events(services, action="login", since=now - timedelta(days=1))] == [
        "throttled"
    ]
    assert [e.outcome for e in await events(services, action="login", until=now - timedelta(days=1))] == [
        "failed"
    ]
    assert await services.audit.prune(180) >= 1
    assert [e.outcome for e in await events(services, action="login")] == ["throttled"]


def test_times_are_dates_instants_or_ago() -> None:
    now = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)

    assert parse_time("2026-12-01", now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_time("2026-12-01T08:00:00+08:00", now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_time("12h", now) == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    for bad in ("yesterday", "999999d", ""):
        with pytest.raises(InvalidInput):
            parse_time(bad, now)


async def test_templates_are_read_by_their_own_enterprise_and_the_node_administrator(
    services: Services, acme: Principal, other: Principal, node_admin: Principal
) -> None:
    template = steel_coil(ACME)
    await services.templates.add(acme, template)

    assert await services.templates.read(acme, ACME) == [template]
    assert await services.templates.read(node_admin, ACME, "1.0") == [template]
    with pytest.raises(PermissionDenied):
        await services.templates.read(other, ACME)
    with pytest.raises(PermissionDenied):
        await services.templates.read(other, ACME, "9.9")  # the same answer whether or not it exists
