"""`idnode import` end to end: a CSV export of 100,000 steel coils (1% broken) into a running node.

    python -m benchmarks.import_rate --db sqlite|postgres [--rows 100000]

Times the real command, from start to its summary, against `idnode serve` on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .coils_csv import write
from .databases import scratch_database
from .machine import describe
from .node_setup import PREFIX, SECRET, migrate
from .services import ROOT, node_env, node_serving
from .snms_batch import _set_up


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with scratch_database(args.db) as url, tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "coils.csv"
        write(export, args.rows, PREFIX)
        migrate(url)
        asyncio.run(_set_up(url))
        with node_serving(node_env(url, "l1", None), 1, Path(folder) / "node.log") as base:
            env = os.environ | {
                "IDNODE_NODE": base,
                "IDNODE_USER": f"300:0.NA/{PREFIX}",
                "IDNODE_SECRET": SECRET,
            }
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "cli", "import", str(export), "--template", "1.0"],
                cwd=ROOT, env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            seconds = time.perf_counter() - started
    print(json.dumps({
        "benchmark": "import_rate", "db": args.db, "rows": args.rows, "seconds": round(seconds, 1),
        "rows_per_s": round(args.rows / seconds), "summary": done.stdout.strip(), "machine": describe(),
    }, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
