"""Reporting upward across real node processes: a top-level node 88 and its secondary node 88.901, each on a
SQLite database of its own. What 88.901 reports arrives at 88, each report once: after `idnode report flush`,
after flushing again, and when 88.901 was killed before its outbox drained while 88 was down."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry import Store
from registry.reporting import read_counts
from resolver.reporting import formats
from sdk.native.client import AsyncNativeClient
from tests.support import NodeProcess, cli, create_database, drop_database

pytestmark = pytest.mark.slow

TOP_SECRET, NODE_SECRET, ENTERPRISE_SECRET = "top-admin-secret", "ezhou-secret", "steel-secret"
ENTERPRISE = "88.901.5"
CREDIT_CODE = "91350100M000100Y43"
ROUND = 1  # seconds between reporting rounds (IDNODE_REPORT_INTERVAL)


@dataclass
class Tree:
    top: NodeProcess
    secondary: NodeProcess
    folder: Path

    def stop(self) -> None:
        self.secondary.stop()
        self.top.stop()


def grow(folder: Path, databases: tuple[str, str] | None = None, *, workers: int = 1) -> Tree:
    """Node 88 (top-level) serving, with 88.901 allocated; 88.901 set up to report to it, serving (with
    `workers` processes). Each on a database of its own: SQLite files in `folder` unless `databases` names
    them."""
    top_url, url = databases or (f"sqlite:///{folder}/top.db", f"sqlite:///{folder}/ezhou.db")
    top_env = {"IDNODE_DATABASE_URL": top_url}
    cli(["init", "--node-prefix", "88", "--role", "top-level", "--admin-secret", TOP_SECRET], top_env)
    cli(["node", "add", "--prefix", "88.901", "--name", "Ezhou", "--secret", NODE_SECRET], top_env)
    top = NodeProcess(top_env).start(folder)
    env = {"IDNODE_DATABASE_URL": url, "IDNODE_REPORT_INTERVAL": str(ROUND)}
    init = ["init", "--node-prefix", "88.901", "--admin-secret", "ezhou-admin"]
    cli([*init, "--parent", top.url, "--parent-secret", NODE_SECRET], env)
    return Tree(top, NodeProcess(env, workers=workers).start(folder), folder)


def onboard(tree: Tree) -> None:
    """An enterprise and its template at 88.901, on its database (as its operator does)."""
    env = tree.secondary.env
    args = ["enterprise", "add", "--prefix", ENTERPRISE, "--name", "鄂州冶金", "--credit-code", CREDIT_CODE]
    cli([*args, "--industry", "C3120", "--contact", "ops@example.com", "--secret", ENTERPRISE_SECRET], env)
    cli(["template", "load", "steel-coil", "--prefix", ENTERPRISE], env)


def register_and_resolve(node: NodeProcess, *, made: int, found: int, missed: int, native: int = 0) -> None:
    """`made` identifiers registered; resolved `found` times over HTTP, `native` times over the native
    protocol (after the first, from the cache: the native hot lane), and `missed` times not found."""
    url = node.url
    auth = (f"300:0.NA/{ENTERPRISE}", ENTERPRISE_SECRET)
    with httpx.Client(base_url=url, timeout=10) as client:
        for n in range(made):
            body = [{"index": 1, "type": "URL", "data": f"https://mes.example.com/{n}"}]
            assert client.put(f"/api/handles/{ENTERPRISE}/COIL-{n}", json=body, auth=auth).status_code == 201
    # A connection each, so that the resolutions spread over the node's workers, whose counts add up.
    for n in range(found):
        assert httpx.get(f"{url}/api/handles/{ENTERPRISE}/COIL-{n % made}", timeout=10).status_code == 200
    for n in range(missed):
        assert httpx.get(f"{url}/api/handles/{ENTERPRISE}/NONE-{n}", timeout=10).status_code == 404
    asyncio.run(_resolve_natively(node.native_port, native))
    asyncio.run(_counts_stored(node.env["IDNODE_DATABASE_URL"], found + missed + native))
    time.sleep(1.5 * ROUND)  # a round more: the reporting process has tried its parent


async def _counts_stored(url: str, requests: int) -> None:
    """Until the serving processes have stored the day's `requests` resolutions of the enterprise (each
    process every round)."""
    store = Store.open(url, pool_size=1)
    try:
        for _ in range(100):
            day = formats.day_of(time.time())
            start, end = formats.day_bounds(day)
            counted = (await read_counts(store, day, start=start, end=end)).prefixes.get(ENTERPRISE)
            if counted is not None and counted.requests >= requests:
                return
            await asyncio.sleep(0.2)
    finally:
        await store.close()


async def _resolve_natively(port: int, times: int) -> None:
    async with AsyncNativeClient("127.0.0.1", port) as client:
        for _ in range(times):
            assert (await client.resolve(f"{ENTERPRISE}/COIL-0")).values


def flush(tree: Tree) -> str:
    return cli(["report", "flush"], tree.secondary.env).stdout


def received(tree: Tree, kind: str | None = None) -> list[dict[str, Any]]:
    args = ["report", "list", "--node", "88.901", "--json"] + (["--kind", kind] if kind else [])
    return [json.loads(line) for line in cli(args, tree.top.env).stdout.splitlines()]


def of(reports: list[dict[str, Any]], kind: str, **fields: object) -> list[dict[str, Any]]:
    """The bodies of the reports of `kind` whose bodies have these fields."""
    bodies = [r["body"] for r in reports if r["kind"] == kind]
    return [b for b in bodies if isinstance(b, dict) and all(b.get(k) == v for k, v in fields.items())]


def admin_reports(tree: Tree, **params: str) -> list[dict[str, Any]]:
    """GET /api/admin/reports at the top-level node, as its administrator."""
    answer = httpx.get(
        f"{tree.top.url}/api/admin/reports", params=params, auth=("300:0.NA/88", TOP_SECRET), timeout=10
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["reports"]
    return found


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tree]:
    grown = grow(tmp_path_factory.mktemp("tree"), workers=2)
    try:
        onboard(grown)
        yield grown
    finally:
        grown.stop()


def test_an_enterprise_and_a_template_are_reported_at_once(tree: Tree) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kinds = sorted(r["kind"] for r in admin_reports(tree, node="88.901"))
        if {"enterprises", "templates"} <= set(kinds):
            break
        time.sleep(0.2)

    assert kinds == ["config", "enterprises", "templates"]  # sent by the running node, no flush needed


def test_enterprise_template_and_statistics_arrive_once(tree: Tree) -> None:
    register_and_resolve(tree.secondary, made=3, found=5, missed=2, native=4)
    flushed = flush(tree)
    reports = received(tree)

    assert "remaining" in flushed
    assert flushed.rstrip().endswith("0 remaining")
    [enterprise] = of(reports, "enterprises", creditCode=CREDIT_CODE)
    assert enterprise["name"] == "鄂州冶金"
    assert enterprise["state"] == 1
    assert enterprise["prefixes"] == [{"prefix": ENTERPRISE, "routing": {"node": "88.901"}}]
    [template] = of(reports, "templates", prefix=ENTERPRISE)
    assert template["version"] == "1.0"
    assert len(template["items"]) == 8
    [stats] = of(reports, "statistics", prefix=ENTERPRISE)
    assert (stats["requests"], stats["answered"]) == (11, 9)
    assert (stats["identifiersNew"], stats["identifiersTotal"]) == (3, 3)
    assert stats["sources"] == [{"address": "127.0.0.1", "count": 11}]
    [node] = of(reports, "statistics", prefix="88.901")
    assert (node["prefixesNew"], node["prefixesTotal"]) == (1, 1)
    [identifiers] = of(reports, "identifiers", prefix=ENTERPRISE)
    operations = sorted(identifiers["operations"], key=lambda o: o["handle"])
    assert [(o["handle"], o["operation"]) for o in operations] == [
        (f"{ENTERPRISE}/COIL-{n}", 1) for n in range(3)
    ]
    assert [v["data"]["value"] for v in operations[2]["values"]] == ["https://mes.example.com/2"]
    [monitoring] = of(reports, "monitoring")
    assert monitoring["peakQps"] >= 1
    assert monitoring["latencyMaxMs"] >= monitoring["latencyAvgMs"] >= monitoring["latencyMinMs"] >= 0
    assert monitoring["registrations"] == 3
    assert monitoring["registrationLatencyMaxMs"] >= monitoring["registrationLatencyMinMs"] > 0


def test_flushing_again_sends_nothing_twice(tree: Tree) -> None:
    before = received(tree)
    flushed = flush(tree)

    assert flushed.startswith("0 reports queued, 0 sent, 0 remaining")
    assert received(tree) == before
    assert len({r["reportId"] for r in before}) == len(before)


def test_the_node_administrator_reads_them_over_http(tree: Tree) -> None:
    auth = ("300:0.NA/88", TOP_SECRET)
    url = f"{tree.top.url}/api/admin/reports"

    enterprises = httpx.get(url, params={"node": "88.901", "kind": "enterprises"}, auth=auth, timeout=10)
    stranger = httpx.get(url, auth=("300:0.NA/88.901", NODE_SECRET), timeout=10)
    bad_kind = httpx.get(url, params={"kind": "gossip"}, auth=auth, timeout=10)

    assert enterprises.status_code == 200
    assert [r["body"]["creditCode"] for r in enterprises.json()["reports"]] == [CREDIT_CODE]
    assert stranger.status_code == 403
    assert stranger.json()["responseCode"] == 400
    assert bad_kind.status_code == 400
    assert "kind is one of" in bad_kind.json()["message"]


def test_reports_are_taken_only_from_an_active_node_for_itself(tree: Tree) -> None:
    url = f"{tree.top.url}/api/reports"
    auth = ("300%3A0.NA/88.901", NODE_SECRET)
    one = {"id": "event:x", "kind": "events", "body": {"id": "x"}}

    elsewhere = httpx.post(url, json={"node": "88.902", "reports": [one]}, auth=auth, timeout=10)
    garbled = httpx.post(url, content=b"{not json", auth=auth, timeout=10)
    odd = {"node": "88.901", "reports": [one | {"kind": "x"}]}
    unknown = httpx.post(url, json=odd, auth=auth, timeout=10)
    anonymous = httpx.post(url, json={"node": "88.901", "reports": [one]}, timeout=10)
    at_secondary = httpx.post(f"{tree.secondary.url}/api/reports", json={}, auth=auth, timeout=10)

    assert elsewhere.status_code == 403
    assert "may not report for node 88.902" in elsewhere.json()["message"]
    assert garbled.status_code == 400
    assert garbled.json()["message"] == "the body is not JSON"
    assert unknown.status_code == 400
    assert "kind is one of" in unknown.json()["message"]
    assert anonymous.status_code == 401
    assert at_secondary.status_code in (401, 404)


def test_an_enterprise_disabled_is_reported_at_once(tree: Tree) -> None:
    cli(["enterprise", "disable", ENTERPRISE], tree.secondary.env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        states = [r["body"]["state"] for r in admin_reports(tree, node="88.901", kind="enterprises")]
        if len(states) == 2:
            break
        time.sleep(0.2)

    assert states == [1, 0]


def test_the_outbox_backlog_is_in_the_metrics(tree: Tree) -> None:
    metrics = httpx.get(f"{tree.secondary.url}/metrics", timeout=10).text

    assert any(line.startswith("idnode_report_outbox_backlog{") for line in metrics.splitlines())


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str] | None]:
    """Where the two nodes keep their data: SQLite files (None), or a PostgreSQL database each."""
    if request.param == "sqlite":
        yield None
        return
    made = [create_database(), create_database()]
    try:
        yield made[0][1], made[1][1]
    finally:
        for name, _ in made:
            drop_database(name)


def test_reports_queued_before_a_crash_arrive_once_after_restarts(
    tmp_path: Path, databases: tuple[str, str] | None
) -> None:
    tree = grow(tmp_path, databases)
    try:
        tree.top.stop()
        onboard(tree)
        register_and_resolve(tree.secondary, made=2, found=4, missed=0)
        backlog = _backlog(tree.secondary.url)
        refused = cli(["report", "flush"], tree.secondary.env, check=False)
        tree.secondary.stop(signal.SIGKILL)
        tree.top.start(tmp_path)
        tree.secondary.start(tmp_path)
        flushed = flush(tree)
        reports = received(tree)
    finally:
        tree.stop()

    assert backlog > 0  # the parent was down: the reports waited in the outbox
    assert refused.returncode == 1
    assert "cannot reach the parent" in refused.stderr
    assert "the reports stay queued" in refused.stderr
    assert " 0 sent, " in refused.stdout
    assert flushed.rstrip().endswith(" 0 remaining")
    assert len(of(reports, "enterprises", creditCode=CREDIT_CODE)) == 1
    assert len(of(reports, "templates", prefix=ENTERPRISE)) == 1
    [stats] = of(reports, "statistics", prefix=ENTERPRISE)
    assert (stats["requests"], stats["answered"], stats["identifiersNew"]) == (4, 4, 2)
    assert len({r["reportId"] for r in reports}) == len(reports)
    events = of(reports, "events", type=1)
    down = [e for e in events if not e["recovery"]]
    assert down
    assert all(e["reason"].startswith("the parent node unavailable") for e in down)


def _backlog(url: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("idnode_report_outbox_backlog{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no report_outbox_backlog in the metrics")
