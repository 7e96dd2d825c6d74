"""The outbox against a real node that is killed in the middle of 10,000 registrations: after the restart
and the flush, all 10,000 exist, each once, with their values."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ADMIN_SECRET
from tests.resolver.conftest import ADMIN_USER, set_up_node
from tests.sdk.mes_line import coil
from tests.support import ROOT, NodeProcess, cli, free_port

COUNT = 10_000


def registered(url: str) -> int:
    try:
        answer = httpx.get(
            f"{url}/api/handles",
            params={"prefix": "88.999.1", "pageSize": "0"},
            auth=(ADMIN_USER, ADMIN_SECRET),
            timeout=5,
        )
    except httpx.HTTPError:
        return -1
    return int(answer.json()["totalCount"]) if answer.status_code == 200 else -1


def test_a_node_killed_mid_registration_ends_with_every_record_once(database: str, tmp_path: Path) -> None:
    env = {"IDNODE_DATABASE_URL": database}
    set_up_node(env)
    cli(["template", "load", "steel-coil", "--prefix", "88.999.1"], env)
    port = free_port()
    node = NodeProcess(env, port=port).start(tmp_path)
    url = f"http://127.0.0.1:{port}"
    mes = subprocess.Popen(
        [sys.executable, "-m", "tests.sdk.mes_line", url, str(tmp_path / "outbox.db"), str(COUNT)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        while 0 <= registered(url) < 2_500:
            time.sleep(0.02)
        node.stop(signal.SIGKILL)  # mid-registration: a chunk may be half sent, its answer lost
        time.sleep(1.0)
        node = NodeProcess(env, port=port).start(tmp_path)
        out, err = mes.communicate(timeout=180)
    finally:
        mes.kill()
        node_count = registered(url)
        node.stop()

    assert mes.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["pending"] == 0
    assert summary["statuses"].get("queued", 0) > 0, "the outage never reached the line"
    assert node_count == COUNT  # each once: no record twice, none missing
    restarted = NodeProcess(env).start(tmp_path)
    try:
        with httpx.Client(base_url=restarted.url, timeout=60) as http:
            handles = [coil(n)[0] for n in range(COUNT)]
            results = []
            for start in range(0, COUNT, 1000):
                results += http.post("/api/resolve", json={"handles": handles[start : start + 1000]}).json()[
                    "results"
                ]
    finally:
        restarted.stop()
    for n, result in enumerate(results):
        values = {v["type"]: v["data"]["value"] for v in result["values"]}
        assert values["coilNo"] == coil(n)[1]["coilNo"], f"{handles[n]} lost its values"
