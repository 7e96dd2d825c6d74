"""The SDK against a running node: `register_many`, `resolve_many`, and the outbox's flush after an outage.

    python -m benchmarks.sdk_throughput --db sqlite|postgres [--count 100000] [--queued 20000]

Seeds nothing: registers `--count` coils (8 values, the shipped steel-coil template) with `register_many`
(1,000 a call), resolves them all with `resolve_many`, then stops the node, registers `--queued` more (they
go to the outbox), starts the node again on the same port and times `flush_outbox()`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from sdk import NodeClient, Retries

from .data import coil
from .databases import scratch_database
from .machine import describe, free_port
from .node_setup import PREFIX, SECRET, bench_services, load_steel_coil, migrate
from .services import ROOT, child, node_env, wait_until_up


async def _set_up(url: str) -> None:
    async with bench_services(url) as (services, _):
        await load_steel_coil(services)


def _coils(start: int, count: int) -> list[tuple[str, dict[str, str]]]:
    rng = random.Random(start)
    return [
        (h, {t: v for _, t, v in fields})
        for h, fields in (coil(n, PREFIX, rng, values=8) for n in range(start, start + count))
    ]


def _rate(count: int, seconds: float) -> int:
    return round(count / seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queued", type=int, default=20_000)
    args = parser.parse_args()
    fresh, later = _coils(0, args.count), _coils(args.count, args.queued)
    figures: dict[str, object] = {}
    with scratch_database(args.db) as url, tempfile.TemporaryDirectory() as folder:
        migrate(url)
        asyncio.run(_set_up(url))
        port = free_port()
        serve = [sys.executable, "-m", "cli", "serve", "--port", str(port)]
        base = f"http://127.0.0.1:{port}"
        client = NodeClient(
            base, username=f"300:0.NA/{PREFIX}", secret=SECRET, outbox_path=Path(folder) / "outbox.db",
            retries=Retries(attempts=2, base=0.05, cap=0.1), timeout=120,
        )  # fmt: skip
        with child(serve, log=Path(folder) / "node.log", env=node_env(url, "l1", None), cwd=ROOT) as node:
            wait_until_up(f"{base}/healthz", process=node)
            started = time.perf_counter()
            written = client.register_many(fresh, template_version="1.0")
            figures["register_many_per_s"] = _rate(len(fresh), time.perf_counter() - started)
            figures["register_many_failed"] = len(written.failed)
            started = time.perf_counter()
            found = client.resolve_many([handle for handle, _ in fresh])
            figures["resolve_many_per_s"] = _rate(len(fresh), time.perf_counter() - started)
            figures["resolve_many_missing"] = sum(record is None for record in found)
        started = time.perf_counter()
        queued = client.register_many(later, template_version="1.0")  # the node is down: into the outbox
        figures["queue_per_s"] = _rate(len(later), time.perf_counter() - started)
        figures["queued"] = queued.count("queued")
        with child(serve, log=Path(folder) / "node-2.log", env=node_env(url, "l1", None), cwd=ROOT) as node:
            wait_until_up(f"{base}/healthz", process=node)
            started = time.perf_counter()
            report = client.flush_outbox()
            figures["flush_per_s"] = _rate(report.delivered, time.perf_counter() - started)
            figures["flushed"] = report.delivered
        client.close()
    print(
        json.dumps(
            {
                "benchmark": "sdk_throughput",
                "db": args.db,
                "count": args.count,
                **figures,
                "machine": describe(),
            }
        )
    )


if __name__ == "__main__":
    main()
