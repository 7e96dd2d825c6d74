"""Running benchmarks/locustfile.py headless against a node and reading its figures."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .scenarios.inputs import PATHS
from .services import ROOT, child

LOCUSTFILE = "benchmarks/locustfile.py"
AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class LocustResult:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    requests: int


def locust_command(
    base_url: str,
    *,
    users: int,
    seconds: int,
    csv_prefix: Path,
    user_class: str = "ResolveHot",
    processes: int | None = None,
) -> list[str]:
    """Headless locust running `users` of `user_class` (or of several, space-separated) for `seconds`, all
    started at once; with `processes`, that many worker processes forked by a master (`--processes`)."""
    forked = ["--processes", str(processes)] if processes else []
    return [
        *("locust", "-f", LOCUSTFILE, "--headless", "-u", str(users), "-r", str(users), *forked),
        *("-t", f"{seconds}s", "--host", base_url, "--csv", str(csv_prefix), "--only-summary"),
        *("--loglevel", "WARNING", *user_class.split()),
    ]


def _result(row: Mapping[str, str]) -> LocustResult:
    return LocustResult(
        rps=float(row["Requests/s"]),
        p50_ms=float(row["50%"]),
        p95_ms=float(row["95%"]),
        p99_ms=float(row["99%"]),
        errors=int(row["Failure Count"]),
        requests=int(row["Request Count"]),
    )


def read_stats(csv_prefix: Path) -> dict[str, LocustResult]:
    """Figures per request name, and all of them together under `AGGREGATED`."""
    stats = Path(f"{csv_prefix}_stats.csv")
    with stats.open(newline="") as file:
        return {row["Name"]: _result(row) for row in csv.DictReader(file)}


def failures(csv_prefix: Path) -> list[dict[str, str]]:
    """What failed, by request name and error, with how often (locust's failures CSV)."""
    path = Path(f"{csv_prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def csv_prefix_of(command: list[str]) -> Path:
    return Path(command[command.index("--csv") + 1])


@contextmanager
def locust_started(
    command: list[str], env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A command made by `locust_command` running in its own process group, with the locustfile's
    variables `env`; stopped, with its workers, when the block ends."""
    # The venv's locust, whichever `locust` is first on PATH.
    with child([sys.executable, "-m", *command], log=log, env={**os.environ, **env}, cwd=ROOT) as process:
        yield process


def finished(process: subprocess.Popen[bytes], command: list[str], log: Path, seconds: int) -> LocustResult:
    """Wait for locust to end its run of `seconds`; its aggregated figures."""
    process.wait(timeout=seconds + 60)
    prefix = csv_prefix_of(command)
    if not Path(f"{prefix}_stats.csv").exists():
        text = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"locust wrote no statistics (exit {process.returncode}):\n{text}")
    return read_stats(prefix)[AGGREGATED]


def run_locust(command: list[str], paths: Path, folder: Path, seconds: int) -> LocustResult:
    """Run a command made by `locust_command` with `paths` as the locustfile's list of GET paths."""
    log = folder / "locust.log"
    with locust_started(command, {PATHS: str(paths)}, log) as process:
        return finished(process, command, log, seconds)
