"""Three nodes on loopback, each its own process and database: the top-level node `88` and the secondary nodes
`88.901` (Ezhou) and `88.902` (Shiyan). A coil registered at Ezhou resolves through Shiyan in every dialect;
a client that asks for no recursion gets a referral it can follow; loops end; a node that is down fails
fast."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from resolver.answer import Answer
from resolver.upstream import Remote
from sdk import RequestError
from sdk.native.client import AsyncNativeClient
from sdk.native.values import Site
from tests.support import NodeProcess, cli, free_port

EZHOU_SECRET, SHIYAN_SECRET = "ezhou-at-the-top", "shiyan-at-the-top"
COIL, PART = "88.901/COIL-0001", "88.902/PART-0001"
SUPPLIER, SUPPLIER_SECRET, SUPPLIER_CODE = "88.902.1", "supplier-secret", "91420300MA49K2Q7NE"
MILL, MILL_SECRET, MILL_CODE = "88.901.1", "mill-secret", "91420700MA4K8XQ3T3"


@dataclass
class Tree:
    top: NodeProcess
    ezhou: NodeProcess
    shiyan: NodeProcess
    logs: Path


def _node(folder: Path, name: str, **env: str) -> NodeProcess:
    return NodeProcess({"IDNODE_DATABASE_URL": f"sqlite:///{folder}/{name}.db", **env})


def _sites(values: list[dict[str, Any]]) -> list[Site]:
    return [Site.from_json(v["data"]["value"]) for v in values if v["type"] == "HS_SITE"]


def _http_ports(values: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(address, port) of the HTTP interfaces the HS_SITE values name."""
    return [
        (s.address, i.port)
        for site in _sites(values)
        for s in site.servers
        for i in s.interfaces
        if i.protocol == 2
    ]


def _until(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout} s: {what}")
        time.sleep(0.2)


def _wait_homed(top: NodeProcess, prefix: str, port: int) -> None:
    """Until the top-level node's 0.NA/<prefix> names the secondary's HTTP port."""

    def homed() -> bool:
        reply = httpx.get(f"{top.url}/api/handles/0.NA/{prefix}")
        return ("127.0.0.1", port) in _http_ports(reply.json().get("values", []))

    _until(homed, f"{prefix} homed at the top-level node")


def _put(node: NodeProcess, handle: str, user: str, secret: str, url: str) -> None:
    body = {
        "values": [{"index": 1, "type": "URL", "data": url}, {"index": 2, "type": "batchNo", "data": "B7"}]
    }
    reply = httpx.put(
        f"{node.url}/api/handles/{handle}", json=body, auth=(user.replace(":", "%3A", 1), secret)
    )
    assert reply.status_code in (200, 201), reply.text


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tree]:
    folder = tmp_path_factory.mktemp("tree")
    top, ezhou, shiyan = _node(folder, "top"), _node(folder, "ezhou"), _node(folder, "shiyan")
    cli(["init", "--node-prefix", "88", "--role", "top-level", "--admin-secret", "top-admin"], top.env)
    cli(["node", "add", "--prefix", "88.901", "--name", "Ezhou", "--secret", EZHOU_SECRET], top.env)
    cli(["node", "add", "--prefix", "88.902", "--name", "Shiyan", "--secret", SHIYAN_SECRET], top.env)
    for node, prefix, secret in ((ezhou, "88.901", EZHOU_SECRET), (shiyan, "88.902", SHIYAN_SECRET)):
        args = ["--parent", top.url, "--parent-secret", secret, "--admin-secret", f"{prefix}-admin"]
        cli(["init", "--node-prefix", prefix, *args], node.env)
    enterprise = ["--prefix", SUPPLIER, "--name", "Shiyan Axles", "--credit-code", SUPPLIER_CODE]
    cli(["enterprise", "add", *enterprise, "--secret", SUPPLIER_SECRET], shiyan.env)
    mill = ["--prefix", MILL, "--name", "Ezhou Steel", "--credit-code", MILL_CODE, "--secret", MILL_SECRET]
    cli(["enterprise", "add", *mill], ezhou.env)
    running = [node.start(folder) for node in (top, ezhou, shiyan)]
    try:
        _wait_homed(top, "88.901", ezhou.port)
        _wait_homed(top, "88.902", shiyan.port)
        _put(ezhou, COIL, "300:0.NA/88.901", "88.901-admin", "https://ezhou.example/coil/1")
        _put(shiyan, PART, "300:0.NA/88.902", "88.902-admin", "https://shiyan.example/part/1")
        for n in range(3):
            _put(ezhou, f"{MILL}/HEAT-{n}", f"300:0.NA/{MILL}", MILL_SECRET, f"https://mill.example/heat/{n}")
        yield Tree(top, ezhou, shiyan, folder)
    finally:
        for node in running:
            node.stop()


def _get(node: NodeProcess, handle: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{node.url}/api/handles/{handle}", params=params, timeout=10)


def _urls(values: list[dict[str, Any]]) -> list[str]:
    return [v["data"]["value"] for v in values if v["type"] == "URL"]


def test_a_secondary_node_homes_its_site_at_the_parent(tree: Tree) -> None:
    values = _get(tree.top, "0.NA/88.901").json()["values"]
    sites = _sites(values)

    assert len(sites) == 1
    ports = {(i.protocol, i.port) for server in sites[0].servers for i in server.interfaces}
    assert (2, tree.ezhou.port) in ports  # HTTP
    assert (1, tree.ezhou.native_port) in ports  # TCP
    listed = cli(["node", "list"], tree.top.env).stdout
    assert "88.901\tactive\tEzhou" in listed
    assert "88.902\tactive\tShiyan" in listed


def test_a_coil_of_ezhou_resolves_through_shiyan_and_through_the_top(tree: Tree) -> None:
    for node in (tree.shiyan, tree.top, tree.shiyan):  # the second time at Shiyan: from its cache
        reply = _get(node, COIL)
        assert reply.status_code == 200
        assert reply.json()["handle"] == COIL
        assert _urls(reply.json()["values"]) == ["https://ezhou.example/coil/1"]
    metrics = httpx.get(f"{tree.shiyan.url}/metrics").text
    assert re.search(r'^idnode_parent_up\{pid="\d+"\} 1$', metrics, re.MULTILINE)
    assert re.search(r'^idnode_upstream_queries\{pid="\d+"\} [1-9]', metrics, re.MULTILINE)


def _upstream_queries(node: NodeProcess) -> int:
    found = re.search(
        r'^idnode_upstream_queries\{pid="\d+"\} (\d+)', httpx.get(f"{node.url}/metrics").text, re.M
    )
    assert found is not None
    return int(found.group(1))


def test_an_enterprise_prefix_of_another_node_is_asked_there_directly(tree: Tree) -> None:
    relayed = _upstream_queries(tree.top)

    for n in range(3):
        reply = _get(tree.shiyan, f"{MILL}/HEAT-{n}")
        assert _urls(reply.json()["values"]) == [f"https://mill.example/heat/{n}"]

    # The top-level node was asked where 88.901.1 lives (and asked Ezhou for its prefix handle), once; the
    # heats themselves went from Shiyan to Ezhou.
    assert _upstream_queries(tree.top) - relayed <= 1


def test_filters_apply_to_a_remote_answer(tree: Tree) -> None:
    reply = _get(tree.shiyan, COIL, type="batchNo")

    assert [v["index"] for v in reply.json()["values"]] == [2]


def test_a_missing_handle_of_another_node_is_not_found(tree: Tree) -> None:
    reply = _get(tree.shiyan, "88.901/NO-SUCH-COIL")

    assert (reply.status_code, reply.json()["responseCode"]) == (404, 100)


def test_a_prefix_no_node_has_is_not_responsible(tree: Tree) -> None:
    for handle in ("88.903/X", "88.902.77/X", "77/X"):
        reply = _get(tree.shiyan, handle)
        assert (reply.status_code, reply.json()["responseCode"]) == (400, 301), handle


def test_the_snms_detail_of_a_remote_coil(tree: Tree) -> None:
    login = {"username": SUPPLIER, "password": SUPPLIER_SECRET}
    token = httpx.post(f"{tree.shiyan.url}/identity/token", json=login).json()["data"]["token"]
    reply = httpx.get(
        f"{tree.shiyan.url}/identityv2/data/detail",
        params={"handle": COIL},
        headers={"authorization": f"Bearer {token}"},
    ).json()

    assert reply["status"] == 1, reply
    assert reply["data"]["handle"] == COIL
    assert "https://ezhou.example/coil/1" in str(reply["data"])


def test_one_batch_of_local_and_remote_handles(tree: Tree) -> None:
    handles = [COIL, PART, "88.901/NO-SUCH-COIL", "88.903/X"]
    reply = httpx.post(f"{tree.shiyan.url}/api/resolve", json={"handles": handles}, timeout=10)

    results = reply.json()["results"]
    assert [r["responseCode"] for r in results] == [1, 1, 100, 301]
    assert [r["handle"] for r in results] == handles
    assert _urls(results[0]["values"]) == ["https://ezhou.example/coil/1"]
    assert _urls(results[1]["values"]) == ["https://shiyan.example/part/1"]


def test_the_native_protocol_resolves_a_remote_coil(tree: Tree) -> None:
    async def ask() -> Any:
        async with AsyncNativeClient("127.0.0.1", tree.shiyan.native_port) as client:
            return await client.resolve(COIL)

    record = asyncio.run(ask())

    assert record.get("URL") == "https://ezhou.example/coil/1"


def test_a_native_query_without_recursion_gets_a_referral(tree: Tree) -> None:
    async def ask() -> Any:
        async with AsyncNativeClient("127.0.0.1", tree.shiyan.native_port) as client:
            return await client.resolve(COIL, recursive=False)

    with pytest.raises(RequestError) as refused:
        asyncio.run(ask())

    assert refused.value.code == 302


def test_do_not_refer_answers_the_site_to_ask(tree: Tree) -> None:
    reply = _get(tree.shiyan, COIL, doNotRefer="true")

    assert (reply.status_code, reply.json()["responseCode"]) == (300, 302)
    http = _http_ports(reply.json()["values"])
    assert http == [("127.0.0.1", tree.ezhou.port)]
    followed = httpx.get(f"http://{http[0][0]}:{http[0][1]}/api/handles/{COIL}").json()
    assert _urls(followed["values"]) == ["https://ezhou.example/coil/1"]


def test_a_query_that_passed_through_too_many_nodes_ends(tree: Tree) -> None:
    reply = httpx.get(
        f"{tree.shiyan.url}/api/handles/88.901/COIL-LOOP", headers={"Idnode-Recursion-Count": "8"}
    )

    assert (reply.status_code, reply.json()["responseCode"]) == (508, 6)


def test_with_the_parent_down_local_answers_work_and_unknown_prefixes_fail_fast(tree: Tree) -> None:
    assert _get(tree.shiyan, COIL).status_code == 200  # cached at Shiyan, with Ezhou's route
    tree.top.stop()
    try:
        assert _get(tree.shiyan, PART).status_code == 200
        assert _get(tree.shiyan, COIL).status_code == 200
        started = time.monotonic()
        reply = _get(tree.shiyan, "88.905/ELSEWHERE")
        assert (reply.status_code, reply.json()["responseCode"]) == (503, 3)
        assert time.monotonic() - started < 1.5
    finally:
        tree.top.start(tree.logs)


def test_with_the_sibling_down_its_cached_answers_stand_in_and_the_rest_fail_fast(tree: Tree) -> None:
    assert _get(tree.shiyan, COIL).status_code == 200
    tree.ezhou.stop()
    try:
        assert _urls(_get(tree.shiyan, COIL).json()["values"]) == ["https://ezhou.example/coil/1"]
        started = time.monotonic()
        reply = _get(tree.shiyan, "88.901/COIL-NEVER-ASKED")
        assert (reply.status_code, reply.json()["responseCode"]) == (503, 3)
        assert time.monotonic() - started < 1.5
    finally:
        tree.ezhou.start(tree.logs)
    # Once it is back, it answers again, by itself.
    _until(lambda: _get(tree.shiyan, "88.901/COIL-NEVER-ASKED").status_code == 404, "Ezhou answering again")


def test_a_node_starts_without_its_parent_and_homes_its_new_address_once_it_is_back(tree: Tree) -> None:
    tree.top.stop()
    tree.ezhou.stop()
    tree.ezhou.port = free_port()  # Ezhou moves to another HTTP port,
    tree.ezhou.start(tree.logs)  # and starts while its parent is down
    tree.top.start(tree.logs)

    _wait_homed(tree.top, "88.901", tree.ezhou.port)  # it kept trying
    # Shiyan's route to Ezhou is the old one: when it fails, the parent is asked again.
    _until(lambda: _get(tree.shiyan, "88.901/COIL-AFTER-MOVE").status_code == 404, "Shiyan finding Ezhou")
    assert _urls(_get(tree.shiyan, COIL).json()["values"]) == ["https://ezhou.example/coil/1"]


def test_another_node_is_asked_over_the_native_protocol_too(tree: Tree) -> None:
    async def ask(*handles: str) -> list[Answer | None]:
        remote = Remote(timeout=2, retry_after=1)
        try:  # one connection, kept open between the questions
            return [
                await remote.resolve(f"tcp://127.0.0.1:{tree.ezhou.native_port}", h, hops=1) for h in handles
            ]
        finally:
            await remote.close()

    found, missing, again = asyncio.run(ask(COIL, "88.901/NO-SUCH-COIL", COIL))

    assert found is not None
    assert again is not None
    assert _urls(found.values()) == _urls(again.values()) == ["https://ezhou.example/coil/1"]
    assert missing is None


def _issuer(token: str) -> str:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["iss"])


def test_a_signed_answer_from_another_node_keeps_its_signature(tree: Tree) -> None:
    here = _get(tree.shiyan, PART, cert="true").json()
    there = _get(tree.shiyan, COIL, cert="true").json()
    at_origin = _get(tree.ezhou, COIL, cert="true").json()

    assert _urls(there["values"]) == ["https://ezhou.example/coil/1"]
    assert _issuer(there["signature"]) == _issuer(at_origin["signature"])  # signed by Ezhou,
    assert _issuer(there["signature"]) != _issuer(here["signature"])  # not by Shiyan


def test_an_enterprise_cannot_send_the_node_to_an_address_of_its_choosing(tree: Tree) -> None:
    trap = socket.create_server(("127.0.0.1", 0))
    trap.settimeout(0.5)
    port = trap.getsockname()[1]
    interfaces = [{"query": True, "admin": True, "protocol": "HTTP", "port": port}]
    site = {"servers": [{"serverId": 1, "address": "127.0.0.1", "interfaces": interfaces}]}
    value = {"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": site}}
    written = httpx.put(
        f"{tree.shiyan.url}/api/handles/0.NA/{SUPPLIER}?index=1",
        json={"values": [value]},
        auth=(f"300%3A0.NA/{SUPPLIER}", SUPPLIER_SECRET),
    )
    assert written.status_code in (200, 201), written.text

    reply = _get(tree.shiyan, f"{SUPPLIER}/NO-SUCH-PART")

    assert (reply.status_code, reply.json()["responseCode"]) == (404, 100)  # its prefix lives here
    with pytest.raises(TimeoutError):
        trap.accept()  # and nothing was asked of the address it wrote
    trap.close()


def test_nodes_misconfigured_into_a_loop_end_it_with_an_error(tree: Tree) -> None:
    cli(["node", "add", "--prefix", "88.903", "--name", "Misrouted", "--secret", "s"], tree.top.env)
    shiyan_site = [v for v in _get(tree.top, "0.NA/88.902").json()["values"] if v["type"] == "HS_SITE"]
    # 88.903's site names Shiyan, which does not hold 88.903 and so asks where it lives: at Shiyan.
    written = httpx.put(
        f"{tree.top.url}/api/handles/0.NA/88.903?index=1",
        json={"values": shiyan_site},
        auth=("300%3A0.NA/88", "top-admin"),
    )
    assert written.status_code in (200, 201), written.text

    started = time.monotonic()
    reply = _get(tree.shiyan, "88.903/LOOP")

    assert (reply.status_code, reply.json()["responseCode"]) == (508, 6)
    assert time.monotonic() - started < 5
