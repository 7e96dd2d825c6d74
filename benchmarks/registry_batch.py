"""Registration throughput of the registry's batch call, in process (no HTTP).

    python -m benchmarks.registry_batch --db postgres --count 100000 --batch 1000 --values 5

Measures `register_many` from validation to commit, batch after batch, on a fresh database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from registry import register_many

from .data import records
from .databases import scratch_database
from .machine import describe
from .node_setup import PREFIX, as_input, bench_services, migrate


async def _measure(url: str, count: int, batch: int, values: int) -> dict[str, object]:
    items = [as_input(record) for record in records(count, PREFIX, values=values)]
    latencies, failed = [], 0
    async with bench_services(url) as (services, principal):
        started = time.perf_counter()
        for first in range(0, count, batch):
            t0 = time.perf_counter()
            results = await register_many(services.records, principal, items[first : first + batch])
            latencies.append(time.perf_counter() - t0)
            failed += sum(not r.ok for r in results)
        elapsed = time.perf_counter() - started
    return {
        "identifiers": count,
        "batch": batch,
        "values_each": values,
        "seconds": round(elapsed, 2),
        "identifiers_per_s": round(count / elapsed),
        "batch_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "batch_p99_ms": round(sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--values", type=int, default=5)
    args = parser.parse_args()
    with scratch_database(args.db) as url:
        migrate(url)
        figures = asyncio.run(_measure(url, args.count, args.batch, args.values))
    print(json.dumps({"benchmark": "registry_batch", "db": args.db, **figures, "machine": describe()}))


if __name__ == "__main__":
    main()
