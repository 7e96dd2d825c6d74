"""The measurements of a run: locust (the scenario's figures), wrk (the node's capacity on the same
requests) and nginx (the reference, with the same wrk command), each with the CPU its processes used."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import httpx

from .harness import Bench, Node
from .locust_run import failures, finished, locust_command, locust_started, read_stats
from .resolve_hot import reference, served
from .scenarios.inputs import MARKS
from .services import process_metrics
from .wrk import run_wrk, shown

SPAWN_S = 1.0  # every user starts within a second of the test's start (the spawn rate is the user count)
WRK_LEAD_S = 0.5  # into wrk's sending: its connections are open


def _marks(file: Path, fallback: tuple[float, float]) -> tuple[float, float]:
    """When locust's test started and stopped, as its master wrote them."""
    found = dict(line.split() for line in file.read_text().splitlines()) if file.exists() else {}
    return float(found.get("start", fallback[0])), float(found.get("stop", fallback[1]))


def locust_phase(
    bench: Bench,
    node: Node,
    users: int,
    seconds: int,
    label: str,
    *,
    classes: str | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """locust running the scenario's user class (or `classes`, space-separated, with `env` added to its
    environment): its figures, what answered, the CPU of locust and node."""
    csv_prefix = bench.folder / f"locust-{label}"
    marks, log = bench.folder / f"marks-{label}", bench.folder / f"locust-{label}.log"
    command = locust_command(
        node.base, users=users, seconds=seconds, csv_prefix=csv_prefix,
        user_class=classes or bench.scenario.user_class, processes=bench.options.locust_processes,
    )  # fmt: skip
    before = process_metrics(node.base, bench.options.workers)
    started = time.time()
    with locust_started(command, bench.locust_env() | (env or {}) | {MARKS: str(marks)}, log) as process:
        node.sampler.add("locust", process.pid)
        result = finished(process, command, log, seconds)
    hits = served(before, process_metrics(node.base, bench.options.workers))
    start, stop = _marks(marks, (started, time.time()))
    cpu = node.sampler.usage(start + SPAWN_S, stop) | {"locust_master": process.pid}
    return {
        "generator": "locust",
        **asdict(result),
        "per_request": {name: asdict(row) for name, row in read_stats(csv_prefix).items()},
        "failures": failures(csv_prefix),
        "hits": hits,
        "cpu": cpu,
        "locust_command": shown(command),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk_phase(bench: Bench, node: Node, connections: int | None = None) -> dict[str, Any]:
    """wrk over the same requests file: the node's capacity, what answered, the CPU of wrk and node; with
    `connections` instead of the usual 32, when given."""
    assert bench.workload is not None
    wrk = bench.options.wrk
    if connections is not None:
        wrk = replace(wrk, connections=connections)
    command = wrk.command(node.base, bench.workload.paths)
    before = process_metrics(node.base, bench.options.workers)
    started, wrk_cpu = time.time(), _children_cpu()
    result = run_wrk(command)
    ended = time.time()
    # wrk sends for its last `wrk.seconds`: before them it reads and formats its requests file (seconds,
    # for a million lines), which the node's share must leave out.
    cpu = node.sampler.usage(ended - wrk.seconds + WRK_LEAD_S, ended)
    cpu = {name: value for name, value in cpu.items() if not name.startswith("locust")}
    # wrk's own CPU can only be read once it is reaped: over its whole run, reading the file included.
    cpu["wrk_cores_whole_run"] = round((_children_cpu() - wrk_cpu) / (ended - started), 2)
    return {
        "wrk_generator": "wrk",
        **{f"wrk_{name}": value for name, value in asdict(result).items()},
        "wrk_hits": served(before, process_metrics(node.base, bench.options.workers)),
        "wrk_cpu": cpu,
        "wrk_command": shown(command),
    }


def answer_bytes(bench: Bench, node: Node) -> bytes:
    """What the node answers to the workload's sample line: the body nginx serves as the reference."""
    assert bench.workload is not None
    line = bench.workload.hottest
    if line.startswith("POST "):
        _, path, body = line.split(" ", 2)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return httpx.post(node.base + path, content=body, headers=headers, timeout=30).content
    return httpx.get(node.base + line, headers={"Accept": "application/json"}, timeout=30).content


def reference_phase(bench: Bench, body: bytes) -> dict[str, Any]:
    """nginx serving `body` under the same wrk command, with as many workers as the node had processes."""
    assert bench.workload is not None
    under = "/api/resolve" if bench.workload.hottest.startswith("POST ") else "/api/handles/"
    return {"reference_generator": "wrk"} | reference(body, bench.options.workers, bench.run, under)
