"""Retries, and the outbox that loses nothing while the node is unreachable (fake node)."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sdk import NodeClient, Retries, ServiceUnavailable, TransportError
from sdk.testing import FakeNode
from tests.sdk.conftest import PREFIX, QUICK, SECRET, Both

Make = Callable[..., Both]


def test_waits_grow_exponentially_with_full_jitter() -> None:
    retries = Retries(attempts=6, base=0.1, cap=1.0, rng=random.Random(7))

    waits = [[retries.delay(attempt) for _ in range(200)] for attempt in range(1, 7)]

    assert [max(w) <= bound for w, bound in zip(waits, [0.1, 0.2, 0.4, 0.8, 1.0, 1.0], strict=True)] == [
        True
    ] * 6
    assert min(waits[3]) < 0.1 < max(waits[3])  # jitter spreads the waits of many clients


async def test_a_busy_node_is_retried_until_it_answers(closing: Make, node: FakeNode) -> None:
    node.fail_next(2, status=503)

    result = await closing()("register", f"{PREFIX}/R-1", {"URL": "x"})

    assert result.status == "created"


async def test_a_node_busy_for_longer_than_the_retries_is_an_error(closing: Make, node: FakeNode) -> None:
    node.fail_next(10, status=503)

    with pytest.raises(ServiceUnavailable):
        await closing()("resolve", f"{PREFIX}/R-1")


async def test_an_unreachable_node_is_a_transport_error_without_an_outbox(
    closing: Make, node: FakeNode
) -> None:
    node.unreachable = True

    with pytest.raises(TransportError):
        await closing()("register", f"{PREFIX}/R-1", {"URL": "x"})


async def test_writes_wait_in_the_outbox_and_are_delivered_in_order(
    closing: Make, node: FakeNode, tmp_path: Path
) -> None:
    client = closing(outbox_path=tmp_path / "outbox.db")
    node.unreachable = True

    queued = [
        await client("register", f"{PREFIX}/COIL-1", {"URL": "first"}),
        await client("register_many", [(f"{PREFIX}/COIL-{n}", {"URL": str(n)}) for n in range(2, 6)]),
        await client("update", f"{PREFIX}/COIL-1", {"URL": "second"}),
    ]
    waiting = await client("pending")
    node.unreachable = False
    report = await client("flush_outbox")

    assert waiting == 6
    assert queued[0].status == "queued"
    assert queued[1].count("queued") == 4
    assert (report.delivered, report.remaining, report.undeliverable) == (6, 0, [])
    assert node.value(f"{PREFIX}/COIL-1", "URL") == "second"  # the update came after the create
    assert await client("pending") == 0


async def test_while_writes_wait_new_ones_queue_behind_them(
    closing: Make, node: FakeNode, tmp_path: Path
) -> None:
    client = closing(outbox_path=tmp_path / "outbox.db")
    node.unreachable = True
    await client("register", f"{PREFIX}/COIL-1", {"URL": "one"})
    node.unreachable = False

    later = await client("update", f"{PREFIX}/COIL-1", {"URL": "two"})
    await client("flush_outbox")

    assert later.status == "queued"  # sent now, it would have reached the node before the create
    assert node.value(f"{PREFIX}/COIL-1", "URL") == "two"


async def test_a_write_the_node_refuses_is_set_aside_and_does_not_block_the_rest(
    closing: Make, node: FakeNode, tmp_path: Path
) -> None:
    client = closing(outbox_path=tmp_path / "outbox.db")
    node.unreachable = True
    await client("register", "88.999.2/NOT-MINE", {"URL": "x"})
    await client("register", f"{PREFIX}/MINE", {"URL": "y"})
    node.unreachable = False

    report = await client("flush_outbox")

    assert report.delivered == 1
    assert [handle for handle, _ in report.undeliverable] == ["88.999.2/NOT-MINE"]
    assert f"{PREFIX}/MINE" in node.records


async def test_a_flush_stops_when_the_node_goes_away_again(
    closing: Make, node: FakeNode, tmp_path: Path
) -> None:
    client = closing(outbox_path=tmp_path / "outbox.db")
    node.unreachable = True
    for n in range(3):
        await client("register", f"{PREFIX}/C-{n}", {"URL": str(n)})

    report = await client("flush_outbox")

    assert (report.delivered, report.remaining) == (0, 3)


def _queue_in_another_process(outbox: Path) -> None:
    script = f"""
from sdk import NodeClient
from sdk.testing import FakeNode
node = FakeNode(users={{"{PREFIX}": "{SECRET}"}})
node.unreachable = True
client = NodeClient("http://node", username="300:0.NA/{PREFIX}", secret="{SECRET}", transport=node,
                    outbox_path=r"{outbox}")
print(client.register("{PREFIX}/SURVIVOR", {{"URL": "kept"}}).status)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "queued"


def test_queued_writes_outlive_the_process_that_queued_them(node: FakeNode, tmp_path: Path) -> None:
    _queue_in_another_process(tmp_path / "outbox.db")

    with NodeClient(
        "http://node", username=f"300:0.NA/{PREFIX}", secret=SECRET, transport=node,
        outbox_path=tmp_path / "outbox.db", retries=QUICK,
    ) as client:  # fmt: skip
        assert client.pending() == 1
        report = client.flush_outbox()

    assert report.delivered == 1
    assert node.value(f"{PREFIX}/SURVIVOR", "URL") == "kept"


def test_the_background_flusher_delivers_by_itself(node: FakeNode, tmp_path: Path) -> None:
    with NodeClient(
        "http://node", username=f"300:0.NA/{PREFIX}", secret=SECRET, transport=node,
        outbox_path=tmp_path / "outbox.db", retries=QUICK, flush_interval=0.05,
    ) as client:  # fmt: skip
        node.unreachable = True
        client.register(f"{PREFIX}/LATER", {"URL": "x"})
        node.unreachable = False
        deadline = time.monotonic() + 5
        while f"{PREFIX}/LATER" not in node.records and time.monotonic() < deadline:
            time.sleep(0.02)

    assert f"{PREFIX}/LATER" in node.records


async def test_the_async_background_flusher_delivers_by_itself(node: FakeNode, tmp_path: Path) -> None:
    from sdk import AsyncNodeClient

    async with AsyncNodeClient(
        "http://node", username=f"300:0.NA/{PREFIX}", secret=SECRET, transport=node,
        outbox_path=tmp_path / "outbox.db", retries=QUICK, flush_interval=0.05,
    ) as client:  # fmt: skip
        node.unreachable = True
        await client.register(f"{PREFIX}/LATER", {"URL": "x"})
        node.unreachable = False
        for _ in range(250):
            if f"{PREFIX}/LATER" in node.records:
                break
            await asyncio.sleep(0.02)

    assert f"{PREFIX}/LATER" in node.records
