"""Single-handle GET rate of a running node, with nginx serving one record's bytes as the reference.

    python -m benchmarks.get_rate --db sqlite --records 20000 --seconds 10

Seeds the records in process, starts `idnode serve`, and drives both servers with the same wrk command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from registry import RecordInput, register_many

from .data import records
from .databases import scratch_database
from .machine import describe, free_port
from .node_setup import PREFIX, as_input, bench_registry, migrate
from .wrk import nginx_serving, run_wrk, wait_until_up


async def seed(url: str, count: int) -> list[str]:
    """`count` records of 6 values under the bench enterprise; their handles."""
    handles = []
    async with bench_registry(url) as (registry, principal):
        batch: list[RecordInput] = []
        for record in records(count, PREFIX, values=6):
            batch.append(as_input(record))
            handles.append(record[0])
            if len(batch) == 1000:
                await register_many(registry, principal, batch)
                batch = []
        await register_many(registry, principal, batch)
    return handles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with scratch_database(args.db) as url, tempfile.TemporaryDirectory() as folder:
        migrate(url)
        handles = asyncio.run(seed(url, args.records))
        paths = [f"/api/handles/{h}" for h in random.Random(7).sample(handles, min(len(handles), 10_000))]
        port = free_port()
        log = (Path(folder) / "node.log").open("wb")
        node = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port)],
            env={**os.environ, "IDNODE_DATABASE_URL": url, "IDNODE_LOG_LEVEL": "warning"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
            sample = httpx.get(f"http://127.0.0.1:{port}{paths[0]}").content
            wrk = {"seconds": args.seconds, "connections": args.connections, "threads": 1}
            idnode = run_wrk(f"http://127.0.0.1:{port}", paths, **wrk)
        finally:
            node.terminate()
            node.wait(timeout=20)
        with nginx_serving(sample, "record.json", free_port()) as base:
            nginx = run_wrk(base, ["/record.json"], **wrk)
    print(
        json.dumps(
            {
                "benchmark": "get_rate",
                "db": args.db,
                "records": args.records,
                "wrk": f"wrk -t1 -c{args.connections} -d{args.seconds}s, random handle per request",
                "idnode": vars(idnode),
                "nginx_static": vars(nginx),
                "ratio": round(idnode.rps / nginx.rps, 3),
                "machine": describe(),
            }
        )
    )


if __name__ == "__main__":
    main()
