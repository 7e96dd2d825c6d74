"""The outbox, the received reports and the resolution counts on SQLite and PostgreSQL: each report queued
once and stored once, retried later and later, sent again after a failure, counts of processes adding up."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from registry import Handle, HandleValue, Principal, Services
from registry.hierarchy import Parent
from registry.reporting import Incoming, Outbox, Queued, Received, Report, add_counts, read_counts
from registry.reporting.marks import release_lease, take_lease
from resolver.health import Health
from resolver.reporting import ResolutionStats, formats
from resolver.reporting.events import Events
from resolver.reporting.feeder import Feeder
from resolver.reporting.sender import BATCH_BYTES, LAST_RETRY, Sender, _bounded, retry_delay
from resolver.reporting.stats import MAX_SOURCES, OTHER_SOURCES
from tests.conftest import ACME

PARENT = Parent("http://parent.example", "s3cret")


def enterprise(name: str) -> Report:
    return Report(formats.ENTERPRISES, "enterprise:91350100M000100Y43", {"name": name})


async def test_a_report_is_queued_once_and_a_newer_one_replaces_it_unsent(services: Services) -> None:
    outbox = Outbox(services.store)

    first = await outbox.enqueue([enterprise("Steel")])
    again = await outbox.enqueue([enterprise("Steel")])
    newer = await outbox.enqueue([enterprise("Steel Group")])
    waiting = await outbox.due()

    assert (first, again, newer) == (1, 0, 1)
    assert [q.body for q in waiting] == ['{"name":"Steel Group"}']
    assert await outbox.backlog() == 1


async def test_a_subject_back_to_what_it_was_is_told_again_under_a_new_id(services: Services) -> None:
    outbox = Outbox(services.store)
    await outbox.enqueue([enterprise("Steel")])
    await outbox.mark_sent([q.id for q in await outbox.due()])
    await outbox.enqueue([enterprise("Steel Group")])
    [group] = await outbox.due()
    await outbox.mark_sent([group.id])

    pruned = await outbox.prune(sent_before=datetime.now(UTC) + timedelta(days=1))  # "Steel", not the last
    await outbox.enqueue([enterprise("Steel")])
    [back] = await outbox.due()
    await outbox.mark_sent([back.id])
    await outbox.enqueue([enterprise("Steel Group")])  # and back once more
    [latest] = await outbox.due()

    first_id = f"{enterprise('Steel').subject}:{enterprise('Steel').digest}"
    assert back.report_id.startswith(f"{first_id}.")
    assert pruned == 1
    assert latest.report_id != group.report_id
    assert latest.report_id.startswith(
        f"{enterprise('Steel Group').subject}:{enterprise('Steel Group').digest}."
    )


def test_retries_wait_twice_as_long_each_time_up_to_a_ceiling_with_jitter() -> None:
    lowest = [retry_delay(n, rng=lambda: 0.0) for n in (1, 2, 3)]
    highest = [retry_delay(n, rng=lambda: 1.0) for n in (1, 2, 3)]

    assert lowest == [1.0, 2.0, 4.0]
    assert highest == [2.0, 4.0, 8.0]
    assert retry_delay(40, rng=lambda: 1.0) == LAST_RETRY


async def test_a_failed_batch_waits_for_its_next_attempt_and_is_then_sent(services: Services) -> None:
    outbox = Outbox(services.store)
    await outbox.enqueue([enterprise("Steel")])
    answers = [httpx.Response(503, text="busy"), httpx.Response(200, json={"accepted": 2, "duplicates": 0})]
    seen: list[httpx.Request] = []

    def parent(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    health = Health("parent")
    sender = Sender(outbox, PARENT, "88.901", health=health, transport=httpx.MockTransport(parent))
    failed = await sender.send()
    await outbox.enqueue([Report(formats.EVENTS, "event:1", {"id": "1"})])  # due, but the parent is paused
    paused = await sender.send()
    not_yet = [q.kind for q in await outbox.due()]
    down = health.up
    flushed = await sender.send(everything=True)
    await sender.close()

    assert failed.sent == 0
    assert failed.failure is not None
    assert "503" in failed.failure
    assert paused.sent == 0
    assert not_yet == ["events"]  # the failed enterprise waits for its next attempt
    assert down is False
    assert flushed.sent == 2
    assert health.up
    assert await outbox.backlog() == 0
    assert seen[0].url == "http://parent.example/api/reports"
    assert seen[0].headers["authorization"] == httpx.BasicAuth("300%3A0.NA/88.901", "s3cret")._auth_header
    assert len(seen) == 2
    assert seen[0].content[:-2] in seen[1].content  # the same report, under the same id


async def test_the_parent_stores_a_report_once_however_often_it_comes(services: Services) -> None:
    received = Received(services.store)
    report = Incoming("events", "event:1", '{"id":"1"}')

    first = await received.store("88.901", [report])
    again = await received.store("88.901", [report, Incoming("events", "event:2", "{}")])
    other_node = await received.store("88.902", [report])

    assert (first, again, other_node) == ((1, 0), (1, 1), (1, 0))
    mine = await received.page(node="88.901")
    assert [r.report_id for r in mine] == ["event:1", "event:2"]
    assert [r.node_prefix for r in await received.page(kind="events", after=mine[-1].id)] == ["88.902"]


async def test_the_counts_of_several_processes_add_up(services: Services) -> None:
    now = 1_764_900_000.25
    workers = [ResolutionStats(clock=lambda: now), ResolutionStats(clock=lambda: now)]
    workers[0].seen("88.999.1", "10.0.0.1", True, 0.002)
    workers[1].seen("88.999.1", "10.0.0.1", False, 0.004)
    workers[1].seen("88.999.1", "10.0.0.2", True, 0.001)
    for worker in workers:
        await add_counts(services.store, worker.take())
    day = formats.day_of(now)
    start, end = formats.day_bounds(day)

    counted = await read_counts(services.store, day, start=start, end=end)
    counts = counted.prefixes["88.999.1"]

    assert (counts.requests, counts.answered) == (3, 2)
    assert (counts.seconds_min, counts.seconds_max) == (0.001, 0.004)
    assert counts.seconds_sum == pytest.approx(0.007)
    assert counts.sources == {"10.0.0.1": 2, "10.0.0.2": 1}
    assert (counted.peak_second, counted.peak_requests) == (int(now), 3)
    assert not workers[0].take()


def test_the_reporting_day_is_china_standard_time() -> None:
    start, end = formats.day_bounds("2026-12-05")

    assert formats.day_of(start) == "2026-12-05"
    assert formats.day_of(start - 1) == "2026-12-04"
    assert end - start == 86_400
    assert formats.day_of(1_764_950_400) == "2025-12-06"  # 2025-12-05 16:00 UTC


def test_an_outage_and_its_recovery_are_two_events_that_name_each_other() -> None:
    events = Events("88.901", clock=lambda: 1_764_900_000.0)
    database = Health("store")
    events.watch(database)

    database.failed(ConnectionRefusedError("refused"))
    database.failed(ConnectionRefusedError("still refused"))  # the same outage
    database.succeeded()
    down, back = events._pending

    assert down.body["type"] == formats.SYSTEM
    assert down.body["reason"].startswith("the database unavailable")
    assert back.body["recovery"] is True
    assert back.body["relatedEvent"] == down.body["id"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", 'the body is {"node": "<node prefix>", "reports": [...]}'),
        (b'{"node": "88.901", "reports": []}', "reports is a list of 1 to 500 reports"),
        (
            b'{"node": "88.901", "reports": [{"id": "", "kind": "events", "body": {}}]}',
            "reports[0].id is a string",
        ),
        (
            b'{"node": "88.901", "reports": [{"id": "x", "kind": "events", "body": 1}]}',
            "reports[0].body is an",
        ),
    ],
)
def test_a_bad_batch_is_refused_saying_why(body: bytes, message: str) -> None:
    with pytest.raises(formats.InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        formats.parse_batch(body)


def test_a_batch_stays_under_the_size_a_node_takes_but_holds_one_report_whatever_its_size() -> None:
    big = "x" * (BATCH_BYTES // 3)
    due = [Queued(n, "identifiers", f"identifiers:{n}", big, 0) for n in range(5)]
    huge = [Queued(9, "identifiers", "identifiers:9", big * 4, 0), *due]

    assert [q.id for q in _bounded(due)] == [0, 1]
    assert [q.id for q in _bounded(huge)] == [9]


def test_a_scan_from_many_addresses_is_counted_in_bounded_memory() -> None:
    stats = ResolutionStats(clock=lambda: 1_764_900_000.0)
    for n in range(MAX_SOURCES + 50):
        stats.seen("88.999.1", f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}", False, 0.001)

    [counts] = stats.take().prefixes.values()

    assert len(counts.sources) == MAX_SOURCES + 1
    assert counts.sources[OTHER_SOURCES] == 50
    assert counts.requests == MAX_SOURCES + 50


async def test_one_process_at_a_time_holds_the_sending_lease(services: Services) -> None:
    store = services.store

    first = await take_lease(store, "a", now=100.0, seconds=30)
    second = await take_lease(store, "b", now=110.0, seconds=30)
    renewed = await take_lease(store, "a", now=120.0, seconds=30)
    after_expiry = await take_lease(store, "b", now=151.0, seconds=30)
    await release_lease(store, "b")
    after_release = await take_lease(store, "a", now=152.0, seconds=30)

    assert (first, second, renewed, after_expiry, after_release) == (True, False, True, True, True)


async def test_a_day_over_is_reported_once_final_and_its_seconds_forgotten(services: Services) -> None:
    acme = Principal.parse(f"300:0.NA/{ACME}")
    for n in range(3):
        await services.records.put_record(
            acme, Handle.parse(f"{ACME}/DAY-{n}"), [HandleValue.text(1, "URL", "x")]
        )
    now = time.time()
    today = formats.day_of(now)
    stats = ResolutionStats(clock=lambda: now)
    stats.seen(ACME, "10.0.0.1", True, 0.001)
    await add_counts(services.store, stats.take())
    outbox = Outbox(services.store)

    first = await Feeder(services, outbox, clock=lambda: now).daily()  # the days before are not news
    tomorrow = Feeder(services, outbox, clock=lambda: now + 86_400)
    queued = await tomorrow.daily()
    again = await tomorrow.daily()
    reports = {q.report_id.rpartition(":")[0]: orjson.loads(q.body) for q in await outbox.due()}
    start, end = formats.day_bounds(today)
    left = await read_counts(services.store, today, start=start, end=end)

    assert (first, again) == (0, 0)
    assert queued == len(reports) == 5  # identifiers and statistics of 88.999.1 and .2, the node, monitoring
    stats_of_acme = reports[f"stats:{today}:{ACME}"]
    assert stats_of_acme["final"] is True
    assert (stats_of_acme["identifiersNew"], stats_of_acme["requests"]) == (3, 1)
    assert len(reports[f"identifiers:{today}:{ACME}:0"]["operations"]) == 3
    assert left.peak_second is None  # the seconds of a day reported are gone; its counts stay
    assert left.prefixes[ACME].requests == 1
