"""What a run concludes: which side limited it, and the RESULTS.md row it adds."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import arguments
from benchmarks.report import append_row, bottleneck, command, problems, row

MASTER = 10


def cpu(locust_worker: float, node: float, machine: float) -> dict[str, Any]:
    return {
        "locust_master": MASTER,
        "locust_per_process": {str(MASTER): 0.05, "11": locust_worker},
        "node_per_process": {"20": 0.01, "21": node},
        "locust_cores": locust_worker + 0.05,
        "node_cores": node + 0.01,
        "machine_busy_cores": machine,
        "machine_cores": 2,
    }


@pytest.mark.parametrize(
    ("usage", "capacity", "verdict"),
    [
        (cpu(0.97, 0.44, 1.43), None, "load generator"),
        (cpu(0.40, 0.95, 1.40), None, "node"),
        (cpu(0.90, 0.90, 1.95), None, "both"),
        (cpu(0.60, 0.70, 1.95), None, "node (CPU shared)"),
        (cpu(0.20, 0.30, 0.60), None, "neither (latency-bound)"),
        # The node answered wrk four times as fast: locust was the limit, whatever the CPU said.
        (cpu(0.50, 0.95, 1.50), 40_000.0, "load generator"),
    ],
)
def test_bottleneck(usage: dict[str, Any], capacity: float | None, verdict: str) -> None:
    found, reason = bottleneck(usage, 10_000.0, capacity)
    assert found == verdict
    assert "busiest locust worker" in reason


def test_the_locust_master_is_not_taken_for_the_generator() -> None:
    usage = cpu(0.10, 0.95, 1.10)
    usage["locust_per_process"][str(MASTER)] = 0.99  # the master only collects statistics
    assert bottleneck(usage, 5_000.0)[0] == "node"


def result(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "started": "2026-12-01T08:00:00+00:00",
        "scenario": "resolve_batch",
        "config": {"db": "sqlite", "workers": 1, "redis": False, "users": 20, "locust_processes": 1,
                   "seconds": 30},
        "rps": 450.2, "items_per_s": 45_020, "p50_ms": 30.0, "p95_ms": 60.0, "p99_ms": 120.0, "errors": 0,
        "wrk_rps": 900.0, "reference_rps": 30_000.0, "ratio": 0.03, "cpu": cpu(0.5, 0.9, 1.5),
        "bottleneck": "node", "failures": [], "node_log": [], "left_running": [],
    }  # fmt: skip
    return base | changes


def test_a_row_says_what_was_run_and_found(tmp_path: Path) -> None:
    table = tmp_path / "RESULTS.md"
    file = tmp_path / "results" / "resolve_batch-20261201T080000Z.json"
    append_row(row(result(), file), table)
    append_row(row(result(scenario="resolve_hot"), file), table)
    lines = table.read_text().splitlines()
    header = next(line for line in lines if line.startswith("| UTC"))
    rows = [line for line in lines if line.startswith("| 2026")]
    assert len(rows) == 2  # the header is written once
    cells = dict(zip(header.split(" | "), rows[0].split(" | "), strict=True))
    assert cells["command (`python -m benchmarks …`)"] == (
        "`run resolve_batch --db sqlite --workers 1 --redis off --users 20 --duration 30"
        " --locust-processes 1`"
    )
    assert cells["req/s (locust)"] == "450 (45,020 items/s)"
    assert cells["p99"] == "120 ms"
    assert cells["ratio"] == "0.03"
    assert cells["bottleneck"] == "node"
    assert "(results/resolve_batch-20261201T080000Z.json)" in rows[0]


def test_a_row_goes_into_its_own_table_wherever_it_is(tmp_path: Path) -> None:
    table = tmp_path / "RESULTS.md"
    file = tmp_path / "results" / "resolve_batch-20261201T080000Z.json"
    append_row(row(result(), file), table)
    with table.open("a") as text:
        text.write("\n## A section written by hand\n\nIts text.\n")
    append_row("| n1 | 1 |", table, ["native", "n"], "## Native\n\n")
    append_row(row(result(scenario="resolve_hot"), file), table)
    append_row("| n2 | 2 |", table, ["native", "n"], "## Native\n\n")
    lines = table.read_text().splitlines()
    rows = [n for n, line in enumerate(lines) if line.startswith("| 2026")]
    assert rows == [rows[0], rows[0] + 1]  # the second row right under the first, before the section
    assert lines[rows[1] + 1 :] == [
        "", "## A section written by hand", "", "Its text.", "",
        "## Native", "", "| native | n |", "| --- | --- |", "| n1 | 1 |", "| n2 | 2 |",
    ]  # fmt: skip


def test_problems_name_every_error_and_leftover() -> None:
    failed = result(
        failures=[{"Occurrences": "3", "Method": "POST", "Name": "mix: batchCreate", "Error": "-2 参数错误"}],
        wrk_errors=5,
        node_log=["ERROR something broke"],
        left_running=["1234 redis-server"],
    )
    found = problems(failed)
    assert len(found) == 4
    assert "3× POST mix: batchCreate: -2 参数错误" in found[0]
    assert problems(result()) == []


def test_the_command_of_a_run_runs_it_again_with_the_same_settings() -> None:
    config = {
        "db": "postgres",
        "workers": 2,
        "redis": True,
        "users": 35,
        "seconds": 12,
        "locust_processes": 1,
    }
    args = arguments(shlex.split(command("supply_chain_mix", config))[3:])
    assert (args.command, args.scenario) == ("run", "supply_chain_mix")
    again = {"db": args.db, "workers": args.workers, "redis": args.redis == "on", "users": args.users,
             "seconds": args.duration, "locust_processes": args.locust_processes}  # fmt: skip
    assert again == config
