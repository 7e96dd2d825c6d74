"""`idnode resolve --native HOST:PORT [--tcp]`: the same output as over HTTP, the same exit codes, and a clear
usage error for a bad address."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import ACME_SECRET
from tests.resolver.conftest import set_up_node
from tests.support import NodeProcess, cli

USER = "300:0.NA/88.999.1"
PART = "88.999.1/NATIVE-CLI-1"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], str]]:
    """A node's connection variables, and its native protocol's HOST:PORT."""
    folder = tmp_path_factory.mktemp("node")
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{folder}/idnode.db"}
    set_up_node(env)
    node = NodeProcess(env).start(folder)
    try:
        remote = {"IDNODE_NODE": node.url, "IDNODE_USER": USER, "IDNODE_SECRET": ACME_SECRET}
        values = ["--value", "URL=https://mes.example.com/1", "--value", "批次=B7"]
        cli(["register", PART, *values], remote)
        yield remote, f"127.0.0.1:{node.native_port}"
    finally:
        node.stop()


@pytest.mark.parametrize("transport", [[], ["--tcp"]])
def test_native_resolution_prints_what_http_resolution_prints(
    running: tuple[dict[str, str], str], transport: list[str]
) -> None:
    env, server = running
    native = ["--native", server, *transport]
    for output in ("table", "json"):
        over_http = cli(["resolve", PART, "--output", output], env)
        natively = cli(["resolve", PART, "--output", output, *native], env)

        assert natively.stdout == over_http.stdout
    only = cli(["resolve", PART, "--type", "批次", "--output", "json", *native], env)
    assert json.loads(only.stdout)["values"] == [
        {"index": 2, "type": "批次", "data": {"format": "string", "value": "B7"}}
    ]


def test_native_resolution_exit_codes(running: tuple[dict[str, str], str]) -> None:
    env, server = running
    missing = cli(["resolve", "88.999.1/NATIVE-NOT-THERE", "--native", server], env, check=False)
    elsewhere = cli(["resolve", "88.777.1/X", "--native", server, "--tcp"], env, check=False)
    bad = [
        cli(["resolve", PART, "--native", address], env, check=False)
        for address in ("nohost", ":2641", "h:x")
    ]
    tcp_alone = cli(["resolve", PART, "--tcp"], env, check=False)
    signed = cli(
        ["resolve", PART, "--native", server, "--signed", "--node-prefix", "88.999"], env, check=False
    )

    assert (missing.returncode, missing.stderr.strip()) == (1, "88.999.1/NATIVE-NOT-THERE: not found")
    assert elsewhere.returncode == 2
    assert elsewhere.stderr.strip().splitlines() == [
        "idnode: this server is not responsible for the handle (response code 301)"
    ]
    for refused in bad:
        assert refused.returncode == 2
        assert "is not HOST:PORT" in refused.stderr
    assert tcp_alone.returncode == 2
    assert "--tcp goes with --native" in tcp_alone.stderr
    assert signed.returncode == 2
