"""Three nodes of the hierarchy on loopback, for resolve_remote: the top-level node `88` and the secondary
nodes `88.901` (the origin, Ezhou) and `88.902` (the asking node, Shiyan), each with its own database and
process, set up with the CLI as an operator does (README, "The node in the hierarchy") and seeded through
the registry under an enterprise of their own (`88.901.1`, `88.902.1`).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from registry import Passwords, Services, Store
from resolver.cache.coherence import shared_slots_path
from sdk.native.values import Site

from .data import Record, records
from .databases import scratch_database, settle
from .node_setup import register_records
from .seeding import seed
from .services import ROOT, node_env, node_serving, redis_serving
from .workload import VALUES

TOP, ORIGIN, ASKING = "88", "88.901", "88.902"
NAMES = {ORIGIN: "Ezhou", ASKING: "Shiyan"}
HTTP = 2  # an HS_SITE interface's protocol number for HTTP
HOMED_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Member:
    """A secondary node's database, seeded: what it holds and a few records to check answers against."""

    prefix: str
    url: str
    handles: list[str]  # in registration order, under the enterprise `<prefix>.1`
    samples: list[Record]
    direct: list[str]  # under the node's prefix itself (seeded at the origin only)


def parent_secret(prefix: str) -> str:
    return f"{NAMES[prefix].lower()}-at-the-top"


def idnode(args: Sequence[str], database_url: str) -> None:
    """`idnode ARGS` on the database at `database_url`, in its own process, as an operator runs it."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("IDNODE_")}
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env | {"IDNODE_DATABASE_URL": database_url}, cwd=ROOT, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"idnode {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def databases(db: str) -> Iterator[dict[str, str]]:
    """A scratch database of `db` for each of the three nodes (prefix -> URL), removed afterwards."""
    with ExitStack() as stack:
        urls = {prefix: stack.enter_context(scratch_database(db)) for prefix in (TOP, ORIGIN, ASKING)}
        if db == "postgres":  # the nodes' coherence tables live in /dev/shm and outlive them
            for url in urls.values():
                stack.callback(shared_slots_path(url).unlink, missing_ok=True)
        yield urls


def init_top(url: str) -> None:
    """The top-level node, with the node prefixes of the two secondary nodes allocated."""
    idnode(["init", "--node-prefix", TOP, "--role", "top-level", "--admin-secret", "top-admin"], url)
    for prefix, name in NAMES.items():
        idnode(["node", "add", "--prefix", prefix, "--name", name, "--secret", parent_secret(prefix)], url)


async def _seed_direct(url: str, prefix: str, count: int) -> list[str]:
    """`count` records under the node's own prefix, registered by the node's administrator."""
    store = Store.open(url)
    try:
        services = await Services.open(store, passwords=Passwords())
        return await register_records(services, services.node.admin, records(count, prefix, values=VALUES))
    finally:
        await store.close()


def seeded_member(url: str, prefix: str, parent: str, count: int, direct: int = 0) -> Member:
    """A secondary node under the top-level node at `parent`, seeded with `count` records under its
    enterprise and `direct` under its own prefix."""
    secret = ["--parent-secret", parent_secret(prefix), "--admin-secret", f"{prefix}-admin"]
    idnode(["init", "--node-prefix", prefix, "--parent", parent, *secret], url)
    samples: list[Record] = []
    handles = asyncio.run(seed(url, count, samples=samples, prefix=f"{prefix}.1"))
    under_node = asyncio.run(_seed_direct(url, prefix, direct)) if direct else []
    settle(url)
    return Member(prefix, url, handles, samples, under_node)


def _http_ports(values: list[dict[str, object]]) -> set[int]:
    sites = [Site.from_json(v["data"]["value"]) for v in values if v["type"] == "HS_SITE"]  # type: ignore[index]
    return {i.port for site in sites for s in site.servers for i in s.interfaces if i.protocol == HTTP}


def wait_homed(top: str, prefix: str, base: str, timeout: float = HOMED_TIMEOUT_S) -> float:
    """Until the top-level node's 0.NA/<prefix> names the HTTP port of the node at `base`; the seconds."""
    port = int(base.rpartition(":")[2])
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        reply = httpx.get(f"{top}/api/handles/0.NA/{prefix}", timeout=10)
        if reply.status_code == 200 and port in _http_ports(reply.json().get("values", [])):
            return round(time.monotonic() - began, 1)
        time.sleep(0.2)
    raise RuntimeError(f"{prefix} not homed at the top-level node after {timeout} s")


@contextmanager
def node(url: str, layers: str, workers: int, log: Path, redis: bool) -> Iterator[tuple[str, str | None]]:
    """One node serving (with a private redis-server of its own, when `redis`): its base URL and Redis URL."""
    with ExitStack() as stack:
        folder = log.with_suffix(".redis")
        redis_url = stack.enter_context(redis_serving(folder)) if redis else None
        yield stack.enter_context(node_serving(node_env(url, layers, redis_url), workers, log)), redis_url
