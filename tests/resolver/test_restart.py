"""Restarting the node, even after a crash, loses nothing that was acknowledged."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx

from tests.conftest import ACME_SECRET
from tests.resolver.conftest import ACME_USER, set_up_node
from tests.support import NodeProcess


def _write_until_stopped(url: str, acknowledged: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=url, auth=(ACME_USER, ACME_SECRET), timeout=10) as http:
        n = 0
        while not stop.is_set():
            handle = f"88.999.1/CRASH-{n:05d}"
            body = [{"index": 2000, "type": "serialNo", "data": f"SN-{n:05d}"}]
            try:
                response = http.put(f"/api/handles/{handle}", json=body, params={"overwrite": "false"})
            except httpx.HTTPError:
                return  # the node is gone: whatever was not answered was not acknowledged
            if response.status_code == 201:
                acknowledged.append(handle)
            n += 1


def test_a_killed_node_keeps_every_acknowledged_write(database: str, tmp_path: Path) -> None:
    env = {"IDNODE_DATABASE_URL": database}
    set_up_node(env)
    node = NodeProcess(env).start(tmp_path)
    acknowledged: list[str] = []
    stop = threading.Event()
    writer = threading.Thread(target=_write_until_stopped, args=(node.url, acknowledged, stop))
    writer.start()
    while len(acknowledged) < 150 and writer.is_alive():
        stop.wait(0.05)

    node.stop(signal.SIGKILL)  # a crash in the middle of writing, not a clean shutdown
    stop.set()
    writer.join()

    restarted = NodeProcess(env).start(tmp_path)
    try:
        with httpx.Client(base_url=restarted.url, timeout=10) as http:
            for handle in acknowledged:
                body = http.get(f"/api/handles/{handle}").json()
                assert body["responseCode"] == 1, f"{handle} was acknowledged and then lost"
                assert body["values"][0]["data"]["value"] == "SN-" + handle[-5:]
    finally:
        restarted.stop()
    assert len(acknowledged) >= 150
