"""`idnode serve --workers 2`: two processes on one port, each answering what the other wrote."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import ACME_SECRET
from tests.resolver.conftest import ACME_USER, set_up_node
from tests.support import NodeProcess


def test_two_workers_share_one_port_and_one_database(database: str, tmp_path: Path) -> None:
    env = {"IDNODE_DATABASE_URL": database}
    set_up_node(env)
    node = NodeProcess(env, workers=2).start(tmp_path)
    try:
        with httpx.Client(base_url=node.url, auth=(ACME_USER, ACME_SECRET), timeout=10) as http:
            for n in range(40):
                # A new connection each time, so the kernel spreads them over both workers.
                body = [{"index": 2000, "type": "serialNo", "data": f"SN-{n}"}]
                put = httpx.put(f"{node.url}/api/handles/88.999.1/W-{n}", json=body, auth=http.auth)
                assert put.status_code == 201
                got = httpx.get(f"{node.url}/api/handles/88.999.1/W-{n}").json()
                assert got["values"][0]["data"]["value"] == f"SN-{n}"
            pids: set[int] = set()
            for _ in range(300):
                pids.add(httpx.get(f"{node.url}/healthz").json()["pid"])
                if len(pids) == 2:
                    break
    finally:
        node.stop()
    assert len(pids) == 2, "both workers answered"
