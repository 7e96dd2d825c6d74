"""`python -m benchmarks.trace`: trace queries over a 6-level genealogy of 10^6 links, p50/p99.

The genealogy is a steel chain: heats → slabs (4 a heat, madeFrom) → coils (3 a slab, madeFrom) → parts
(8 a coil, madeFrom) → assemblies (each part installedIn one, 4 parts an assembly, from coils all over the
chain) → vehicles (6 assemblies a vehicle, installedIn): 232 links and 141 records a heat, so 10^6 links
are some 4,300 heats and 608,000 records. The records and links are written straight into a scratch database
(PostgreSQL's COPY, SQLite's executemany), rows of exactly the shape the registry writes (its own encoding of
the values; the links' rows as `registry.links` makes them), then a node is started and traced over HTTP, one
request at a time: up from random vehicles (to their heats), down from random heats (to their vehicles), and
both ways from random coils, depth 10, anonymous.

    python -m benchmarks.trace                                # 10^6 links, PostgreSQL, 500 requests a kind
    python -m benchmarks.trace --links 10000 --requests 50    # a quick check
    python -m benchmarks.trace --db sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from registry import HandleValue
from registry.codec import encode_values
from registry.links import ends
from registry.values import render_time

from .databases import scratch_database, settle
from .machine import describe
from .node_setup import PREFIX, bench_services, migrate
from .services import node_env, node_serving

LINKS = 1_000_000
REQUESTS = 500
SLABS, COILS, PARTS, PARTS_AN_ASSEMBLY, ASSEMBLIES_A_VEHICLE = 4, 3, 8, 4, 6
LINKS_A_HEAT = SLABS + SLABS * COILS + 2 * SLABS * COILS * PARTS + SLABS * COILS * PARTS // PARTS_AN_ASSEMBLY
STAMP = 1_764_800_000
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True, slots=True)
class Chain:
    """The sizes of each level for `heats` heats."""

    heats: int

    @property
    def slabs(self) -> int:
        return self.heats * SLABS

    @property
    def coils(self) -> int:
        return self.slabs * COILS

    @property
    def parts(self) -> int:
        return self.coils * PARTS

    @property
    def assemblies(self) -> int:
        return self.parts // PARTS_AN_ASSEMBLY

    @property
    def vehicles(self) -> int:
        return max(1, self.assemblies // ASSEMBLIES_A_VEHICLE)


def name(kind: str, n: int) -> str:
    return f"{PREFIX}/{kind}-{n:07d}"


def handles(chain: Chain) -> Iterator[str]:
    """Every record's handle, level by level."""
    for kind, count in (
        ("HEAT", chain.heats), ("SLAB", chain.slabs), ("COIL", chain.coils), ("PART", chain.parts),
        ("ASSY", chain.assemblies), ("VIN", chain.vehicles),
    ):  # fmt: skip
        for n in range(count):
            yield name(kind, n)


def links(chain: Chain) -> Iterator[tuple[str, int, str, str]]:
    """(source, index, relation, target) of every link."""
    for n in range(chain.slabs):
        yield name("SLAB", n), 2100, "madeFrom", name("HEAT", n // SLABS)
    for n in range(chain.coils):
        yield name("COIL", n), 2100, "madeFrom", name("SLAB", n // COILS)
    for n in range(chain.parts):
        yield name("PART", n), 2100, "madeFrom", name("COIL", n // PARTS)
        # Assemblies take parts of coils from all over the chain (a multiplicative scatter).
        yield name("PART", n), 2101, "installedIn", name("ASSY", (n * 7_919) % chain.assemblies)
    for n in range(chain.assemblies):
        yield name("ASSY", n), 2100, "installedIn", name("VIN", n % chain.vehicles)


def link_values(chain: Chain) -> dict[str, list[HandleValue]]:
    found: dict[str, list[HandleValue]] = {}
    for source, index, relation, target in links(chain):
        found.setdefault(source, []).append(HandleValue.text(index, relation, target))
    return found


def rows(chain: Chain) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The handles rows and the links rows as the registry writes them (the suffixes are their own keys)."""
    now = datetime.fromtimestamp(STAMP, UTC)
    stamp = render_time(STAMP)
    extra = link_values(chain)
    handle_rows = []
    for handle in handles(chain):
        values = [
            HandleValue.text(1, "URL", f"https://mes.example/{handle}"),
            HandleValue.text(2000, "no", handle),
            *extra.get(handle, []),
        ]
        handle_rows.append((handle, handle, PREFIX, encode_values(values, stamp).decode(), now, now, None))
    link_rows = []
    for source, index, relation, target in links(chain):
        at = ends(relation, source, target)
        link_rows.append((source, index, relation, target, target, PREFIX, at.origin, at.product))
    return handle_rows, link_rows


HANDLE_COLUMNS = ("handle", "name", "prefix", "values_json", "created_at", "updated_at", "template_version")
LINK_COLUMNS = ("source", "idx", "relation", "target", "target_name", "prefix", "origin", "product")


async def _copy_postgres(
    url: str, handle_rows: list[tuple[Any, ...]], link_rows: list[tuple[Any, ...]]
) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.copy_records_to_table("handles", records=handle_rows, columns=HANDLE_COLUMNS)
        await conn.copy_records_to_table("links", records=link_rows, columns=LINK_COLUMNS)
    finally:
        await conn.close()


def _insert_sqlite(url: str, handle_rows: list[tuple[Any, ...]], link_rows: list[tuple[Any, ...]]) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with conn:
            marks = ", ".join("?" * len(HANDLE_COLUMNS))
            conn.executemany(f"INSERT INTO handles ({', '.join(HANDLE_COLUMNS)}) VALUES ({marks})", [
                (*row[:4], row[4].isoformat(" "), row[5].isoformat(" "), row[6]) for row in handle_rows
            ])  # fmt: skip
            marks = ", ".join("?" * len(LINK_COLUMNS))
            conn.executemany(f"INSERT INTO links ({', '.join(LINK_COLUMNS)}) VALUES ({marks})", link_rows)
    finally:
        conn.close()


async def _set_up(url: str) -> None:
    async with bench_services(url):
        pass


def seed(url: str, chain: Chain) -> dict[str, float]:
    """The node, its enterprise, and the chain's records and links; how long each step took."""
    started = time.perf_counter()
    migrate(url)
    asyncio.run(_set_up(url))
    made = time.perf_counter()
    handle_rows, link_rows = rows(chain)
    built = time.perf_counter()
    if url.startswith("sqlite"):
        _insert_sqlite(url, handle_rows, link_rows)
    else:
        asyncio.run(_copy_postgres(url, handle_rows, link_rows))
    loaded = time.perf_counter()
    settle(url)
    return {
        "set_up_s": round(made - started, 1),
        "rows_built_s": round(built - made, 1),
        "loaded_s": round(loaded - built, 1),
        "settled_s": round(time.perf_counter() - loaded, 1),
        "records": len(handle_rows),
        "links": len(link_rows),
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def measure(base: str, kind: str, handles: list[str], direction: str, depth: int) -> dict[str, Any]:
    """`len(handles)` traces, one at a time: latency p50/p99 (ms), nodes and edges a trace."""
    latencies, nodes, edges, truncated = [], [], [], 0
    with httpx.Client(base_url=base, timeout=60) as http:
        for handle in handles[:5]:  # warm the connection and the database's cache a little
            http.get(f"/api/trace/{handle}", params={"direction": direction, "depth": depth})
        for handle in handles:
            started = time.perf_counter()
            response = http.get(f"/api/trace/{handle}", params={"direction": direction, "depth": depth})
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            body = response.json()
            nodes.append(len(body["nodes"]))
            edges.append(len(body["edges"]))
            truncated += bool(body["truncated"])
    return {
        "kind": kind,
        "direction": direction,
        "requests": len(handles),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_nodes": round(statistics.mean(nodes), 1),
        "mean_edges": round(statistics.mean(edges), 1),
        "truncated": truncated,
    }


def run(kind: str, total_links: int, requests: int, depth: int, seed_value: int) -> dict[str, Any]:
    chain = Chain(max(1, round(total_links / LINKS_A_HEAT)))
    pick = random.Random(seed_value)
    with scratch_database(kind) as url, tempfile.TemporaryDirectory(prefix="idnode-trace-") as folder:
        seeding = seed(url, chain)
        env = node_env(url, "l1", None)
        with node_serving(env, 1, Path(folder) / "node.log") as base:
            vehicles = [name("VIN", pick.randrange(chain.vehicles)) for _ in range(requests)]
            heats = [name("HEAT", pick.randrange(chain.heats)) for _ in range(requests)]
            coils = [name("COIL", pick.randrange(chain.coils)) for _ in range(requests)]
            traces = [
                measure(base, "vehicle up", vehicles, "up", depth),
                measure(base, "heat down", heats, "down", depth),
                measure(base, "coil both", coils, "both", depth),
            ]
    return {
        "benchmark": "trace",
        "db": kind,
        "levels": 6,
        "depth": depth,
        **seeding,
        "traces": traces,
        "machine": describe(),
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--links", type=int, default=LINKS, help=f"links in the genealogy (default {LINKS})")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="traces of each kind")
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--output", type=Path, help="also write the result (JSON) here")
    args = parser.parse_args()
    result = run(args.db, args.links, args.requests, args.depth, args.seed)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
