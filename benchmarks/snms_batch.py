"""SNMS batch registration: `POST /identityv2/data/batchCreate` with 2,000 coils a call, one client.

    python -m benchmarks.snms_batch --db sqlite|postgres [--calls 20]

Sets up a node with a steel enterprise and the shipped steel-coil template, starts `idnode serve`, logs in
through SNMS and sends the calls one after another, each coil checked against the template. Reports
identifiers per second over all calls and the time of one call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from .data import as_snms, coil
from .databases import scratch_database
from .machine import describe
from .node_setup import PREFIX, SECRET, bench_services, load_steel_coil, migrate
from .services import node_env, node_serving

BATCH = 2_000


async def _set_up(url: str) -> None:
    async with bench_services(url) as (services, _):
        await load_steel_coil(services)


def _calls(count: int) -> list[list[dict[str, Any]]]:
    rng = random.Random(2641)
    return [
        [as_snms(coil(n, PREFIX, rng, values=8)) for n in range(call * BATCH, (call + 1) * BATCH)]
        for call in range(count)
    ]


def _measure(base: str, calls: list[list[dict[str, Any]]]) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=300) as http:
        login = http.post("/identity/token", json={"username": PREFIX, "password": SECRET}).json()
        headers = {"Authorization": f"Bearer {login['data']['token']}"}
        seconds, failed = [], 0
        for body in calls:
            started = time.perf_counter()
            answer = http.post("/identityv2/data/batchCreate", json=body, headers=headers).json()
            seconds.append(time.perf_counter() - started)
            failed += sum(item["code"] != 1 for item in answer["data"])
    total = sum(seconds)
    return {
        "identifiers": BATCH * len(calls),
        "calls": len(calls),
        "identifiers_per_s": round(BATCH * len(calls) / total),
        "call_p50_ms": round(statistics.median(seconds) * 1000),
        "call_max_ms": round(max(seconds) * 1000),
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    calls = _calls(args.calls)
    with scratch_database(args.db) as url, tempfile.TemporaryDirectory() as folder:
        migrate(url)
        asyncio.run(_set_up(url))
        with node_serving(node_env(url, "l1", None), 1, Path(folder) / "node.log") as base:
            figures = _measure(base, calls)
    print(json.dumps({"benchmark": "snms_batch", "db": args.db, **figures, "machine": describe()}))


if __name__ == "__main__":
    main()
