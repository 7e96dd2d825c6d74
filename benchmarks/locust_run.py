"""Running benchmarks/locustfile.py headless against a node and reading its figures."""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .services import ROOT, child

LOCUSTFILE = "benchmarks/locustfile.py"
PATHS_VARIABLE = "IDNODE_BENCH_PATHS"  # the locustfile's; not imported, as importing it reads the file


@dataclass(frozen=True)
class LocustResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def locust_command(base_url: str, *, users: int, seconds: int, csv_prefix: Path) -> list[str]:
    return [
        *("locust", "-f", LOCUSTFILE, "--headless", "-u", str(users), "-r", str(users)),
        *("-t", f"{seconds}s", "--host", base_url, "--csv", str(csv_prefix), "--only-summary"),
        *("--loglevel", "WARNING"),
    ]


def _aggregated(stats_csv: Path) -> LocustResult:
    with stats_csv.open(newline="") as file:
        row = next(r for r in csv.DictReader(file) if r["Name"] == "Aggregated")
    return LocustResult(
        rps=float(row["Requests/s"]),
        p50_ms=float(row["50%"]),
        p99_ms=float(row["99%"]),
        errors=int(row["Failure Count"]),
        requests=int(row["Request Count"]),
    )


def run_locust(command: list[str], paths: Path, folder: Path, seconds: int) -> LocustResult:
    """Run a command made by `locust_command` with `paths` as the locustfile's list of GET paths."""
    env = {**os.environ, PATHS_VARIABLE: str(paths)}
    # The venv's locust, whichever `locust` is first on PATH.
    argv = [sys.executable, "-m", *command]
    with child(argv, log=folder / "locust.log", env=env, cwd=ROOT) as process:
        process.wait(timeout=seconds + 60)
    stats = Path(f"{command[command.index('--csv') + 1]}_stats.csv")
    if not stats.exists():
        log = (folder / "locust.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"locust wrote no statistics (exit {process.returncode}):\n{log}")
    return _aggregated(stats)
