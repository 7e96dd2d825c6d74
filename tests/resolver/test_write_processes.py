"""`IDNODE_WRITE_PROCESSES`: SNMS batches written by processes of their own, at a lower CPU priority, while
the serving processes keep resolving; every client reads its writes at once, from any serving process."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ACME_SECRET
from tests.resolver.conftest import ACME, set_up_node
from tests.support import NodeProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    env = {"IDNODE_DATABASE_URL": database, "IDNODE_WRITE_PROCESSES": "1"}
    set_up_node(env)
    process = NodeProcess(env, workers=2).start(tmp_path_factory.mktemp("writes"))
    try:
        yield process
    finally:
        process.stop()


def token(node: NodeProcess) -> dict[str, str]:
    answer = httpx.post(f"{node.url}/identity/token", json={"username": ACME, "password": ACME_SECRET}).json()
    return {"Authorization": f"Bearer {answer['data']['token']}"}


def coil(n: int, weight: str = "21000") -> dict[str, Any]:
    values = [
        {"index": 2000, "type": "coilNo", "data": {"format": "string", "value": f"C{n:06d}"}},
        {"index": 2001, "type": "weightKg", "data": {"format": "string", "value": weight}},
    ]
    return {"handle": f"{ACME}/WP-COIL-{n:06d}", "value": values}


def weight(node: NodeProcess, n: int) -> str | None:
    # A new connection each time: the kernel spreads them over both serving processes.
    answer = httpx.get(f"{node.url}/api/handles/{ACME}/WP-COIL-{n:06d}")
    if answer.status_code == 404:
        return None
    values = {v["type"]: v["data"]["value"] for v in answer.json()["values"]}
    return str(values["weightKg"])


def batch(node: NodeProcess, method: str, path: str, body: Any) -> dict[str, Any]:
    answer = httpx.request(method, f"{node.url}{path}", json=body, headers=token(node), timeout=30)
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def write_processes(node: NodeProcess) -> list[int]:
    """The node's processes running at a lower priority than the serving ones: its write processes."""
    assert node.process is not None
    group = node.process.pid  # the node leads a session, and so a process group, of its own
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == group and int(fields[16]) > 0:  # process group, nice
                found.append(int(entry.name))
    return found


def test_batches_written_elsewhere_are_read_at_once_from_every_serving_process(
    node: NodeProcess,
) -> None:
    for n in range(20):
        assert weight(node, n) is None  # cached as absent in whichever process answered
    created = batch(node, "POST", "/identityv2/data/batchCreate", [coil(n) for n in range(20)])
    assert created["status"] == 1
    assert [item["code"] for item in created["data"]] == [1] * 20
    assert [weight(node, n) for n in range(20)] == ["21000"] * 20

    updated = batch(node, "PUT", "/identityv2/data/batchUpdate", [coil(n, "19500") for n in range(10)])
    assert [item["code"] for item in updated["data"]] == [1] * 10
    assert [weight(node, n) for n in range(20)] == ["19500"] * 10 + ["21000"] * 10


def test_the_write_processes_run_below_the_serving_ones(node: NodeProcess) -> None:
    assert len(write_processes(node)) == 2  # one for each serving process


def test_bad_batches_get_the_answers_they_get_in_place(node: NodeProcess) -> None:
    again = batch(node, "POST", "/identityv2/data/batchCreate", [coil(100), coil(100), {"handle": 5}])
    assert again["data"][0]["code"] == 1
    assert again["data"][1]["code"] != 1  # the same handle twice: the second exists
    assert again["data"][2]["code"] != 1
    headers = token(node) | {"Content-Type": "application/json"}
    not_json = httpx.post(f"{node.url}/identityv2/data/batchCreate", content=b"[{", headers=headers).json()
    assert (not_json["status"], "JSON" in not_json["message"]) == (-2, True)
    not_list = batch(node, "POST", "/identityv2/data/batchCreate", {"handle": "x"})
    assert not_list["status"] == -2
    unauthorised = httpx.post(f"{node.url}/identityv2/data/batchCreate", json=[coil(101)]).json()
    assert unauthorised["status"] == -1
    assert weight(node, 101) is None


def test_a_write_process_killed_fails_its_batch_and_the_next_one_is_written(node: NodeProcess) -> None:
    for pid in write_processes(node):
        os.kill(pid, signal.SIGKILL)
    outcomes = {
        n: batch(node, "POST", "/identityv2/data/batchCreate", [coil(n)])["status"] for n in range(200, 210)
    }
    # Each serving process fails the batch that met its dead pool (SNMS -4: try again), then starts another.
    assert set(outcomes.values()) <= {1, -4}
    assert 1 <= list(outcomes.values()).count(-4) <= 2  # the pools were dead: these batches went to them
    assert [weight(node, n) for n, status in outcomes.items() if status == 1] == ["21000"] * sum(
        status == 1 for status in outcomes.values()
    )
    assert len(write_processes(node)) == 2
