"""A running node (`idnode serve` in its own process) on SQLite and on PostgreSQL, set up by the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import setups
from tests.conftest import ACME, ACME_SECRET, ADMIN_SECRET, NODE_PREFIX, OTHER, OTHER_SECRET
from tests.redis_servers import redis_cluster, redis_server  # noqa: F401 - fixtures offered to these tests
from tests.support import NodeProcess, cli

ACME_USER = f"300%3A0.NA/{ACME}"
OTHER_USER = f"300%3A0.NA/{OTHER}"
ADMIN_USER = f"300%3A0.NA/{NODE_PREFIX}"


@dataclass
class RunningNode:
    url: str
    env: dict[str, str]
    process: NodeProcess
    workdir: Path


def set_up_node(env: dict[str, str], *, fresh: bool = False) -> None:
    """What an operator does: init the node, onboard two enterprises (once a run by the CLI for each kind of
    database and settings, then copied: see tests/setups.py; `fresh`: keys of its own, by the CLI)."""

    def run_commands() -> None:
        cli(["init", "--node-prefix", NODE_PREFIX, "--admin-secret", ADMIN_SECRET], env)
        for prefix, name, code, secret in [
            (ACME, "Acme Parts", "91420700MA4K8XQ3T3", ACME_SECRET),
            (OTHER, "Other Steel", "91420300MA49K2Q7NE", OTHER_SECRET),
        ]:
            args = ["enterprise", "add", "--prefix", prefix, "--name", name, "--credit-code", code]
            cli([*args, "--secret", secret], env)

    setups.set_up(env, run_commands, fresh=fresh)


@pytest.fixture(scope="module")
def node(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    workdir = tmp_path_factory.mktemp("node")
    env = {"IDNODE_DATABASE_URL": database, "IDNODE_MAX_BODY_BYTES": str(1024 * 1024)}
    set_up_node(env)
    process = NodeProcess(env).start(workdir)
    try:
        yield RunningNode(process.url, env, process, workdir)
    finally:
        process.stop()


@pytest.fixture
def http(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=30) as client:
        yield client


@pytest.fixture
def metrics() -> Callable[[str], dict[str, float]]:
    """Reads a node process's /metrics into {name: value}."""

    def read(url: str) -> dict[str, float]:
        found: dict[str, float] = {}
        for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                found[name.split("{")[0]] = float(value)
        return found

    return read
