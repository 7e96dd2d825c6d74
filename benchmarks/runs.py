"""`python -m benchmarks run` and `scaling`: a scenario measured once, or at a series of user counts."""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .harness import Options, prepared, serving
from .machine import describe, source_digest
from .phases import answer_bytes, locust_phase, reference_phase, wrk_phase
from .report import append_row, bottleneck, command, problems, row
from .resolve_hot import log_lines, write_results
from .scenarios import Scenario
from .services import leftovers


def run_context(scenario: Scenario, options: Options, started: datetime) -> dict[str, Any]:
    """What every results file says about its run besides the figures."""
    return {
        "scenario": scenario.name,
        "summary": scenario.summary,
        "started": started.isoformat(timespec="seconds"),
        "machine": describe(),
        "code": source_digest(),
        # Anything else busy on the machine skews every figure: the load average says whether it was idle.
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "records": scenario.records,
        "workload": scenario.requests.value,
        "cache_layers": options.layers,
    }


def closing(result: dict[str, Any]) -> None:
    """Once every process has stopped: what was left running, and every problem of the run."""
    result["left_running"] = leftovers()
    result["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["problems"] = problems(result)


def _conclusions(result: dict[str, Any], scenario: Scenario) -> None:
    """Which side limited the run; the nginx ratio; handles or identifiers a second for batch scenarios."""
    if "reference_rps" in result:
        result["ratio"] = round(result["wrk_rps"] / result["reference_rps"], 3)
        result["ratio_of"] = "wrk req/s of the node / wrk req/s of nginx"
    result["bottleneck"], result["bottleneck_reason"] = bottleneck(
        result["cpu"], result["rps"], result.get("wrk_rps")
    )
    if scenario.per_request > 1:  # from the main task's row alone: the logins are not batches
        result["items_per_request"] = scenario.per_request
        result["items_per_s"] = round(result["per_request"][scenario.name]["rps"] * scenario.per_request)
        if "wrk_rps" in result:
            result["wrk_items_per_s"] = round(result["wrk_rps"] * scenario.per_request)
    result.setdefault("reference_rps", None)
    result.setdefault("ratio", None)


def run_scenario(scenario: Scenario, options: Options, users: int, seconds: int, output: Path) -> Path:
    """Measure `scenario` once with locust (and wrk and nginx for the resolve scenarios); the results file,
    written under `output/results`, with a row added to `output/RESULTS.md`."""
    started = datetime.now(UTC)
    config = asdict(options) | {"users": users, "seconds": seconds, "records": scenario.records}
    result = run_context(scenario, options, started) | {
        "config": config,
        "command": command(scenario.name, config),
    }
    body: bytes | None = None
    with prepared(scenario, options) as bench:
        with serving(bench) as node:
            print(f"locust: {users} users of {scenario.user_class} for {seconds} s", flush=True)
            result |= locust_phase(bench, node, users, seconds, "run")
            if scenario.wrk:
                print("wrk: the node's capacity on the same requests", flush=True)
                result |= wrk_phase(bench, node)
                body = answer_bytes(bench, node)
        result["node_log"] = log_lines(bench.folder / "node.log")  # what it logged at warning level or above
        if body is not None:  # after the node has stopped, as resolve_hot does: nginx gets the CPU alone
            print("wrk: nginx serving one answer's bytes", flush=True)
            result |= reference_phase(bench, body)
    _conclusions(result, scenario)
    closing(result)
    path = write_results(result, started, scenario.name, output / "results")
    append_row(row(result, path), output / "RESULTS.md")
    return path


# What a scaling run keeps of each of its locust runs.
STEP_FIGURES = (
    *("rps", "p50_ms", "p95_ms", "p99_ms", "errors", "requests"),
    *("per_request", "cpu", "hits", "failures"),
)


def _step(step: dict[str, Any], users: int, wrk: dict[str, Any] | None) -> dict[str, Any]:
    verdict, reason = bottleneck(step["cpu"], step["rps"], wrk["wrk_rps"] if wrk else None)
    found = {"users": users, **{name: step[name] for name in STEP_FIGURES}}
    return found | {"bottleneck": verdict, "reason": reason} | ({"wrk": wrk} if wrk else {})


def run_scaling(
    scenario: Scenario, options: Options, users: list[int], seconds: int, output: Path
) -> dict[str, Any]:
    """`scenario` at each of `users`, one after another against one node; for the resolve scenarios, wrk
    with as many connections after each step (the node's own curve). The results file is written under
    `output/results`."""
    started = datetime.now(UTC)
    result = run_context(scenario, options, started) | {
        "config": asdict(options) | {"seconds_a_step": seconds}
    }
    steps: list[dict[str, Any]] = []
    with prepared(scenario, options) as bench:
        with serving(bench) as node:
            for count in users:
                print(f"locust: {count} users for {seconds} s", flush=True)
                run = locust_phase(bench, node, count, seconds, f"u{count}")
                wrk = None
                if scenario.wrk:
                    print(f"wrk: {count} connections", flush=True)
                    wrk = wrk_phase(bench, node, connections=count)
                steps.append(_step(run, count, wrk))
        result["node_log"] = log_lines(bench.folder / "node.log")
    result["steps"] = steps
    if scenario.wrk:  # the node's capacity: its best rate under wrk at any of the steps
        result["wrk_rps"] = max(step["wrk"]["wrk_rps"] for step in steps)
    result["failures"] = [failure for step in steps for failure in step["failures"]]
    closing(result)
    result["path"] = str(write_results(result, started, f"{scenario.name}-scaling", output / "results"))
    return result


def results_png(scenario: Scenario, output: Path) -> Path:
    return output / "results" / f"{scenario.name}-scaling.png"
