"""`python -m benchmarks run supply_chain_day`: what writes cost readers on a node that is not saturated.

In one run against one node: wrk measures the node's read-only capacity on the scenario's GETs; locust's
readers then resolve at half of it (or at what one locust process paces without becoming the limit, if less)
alone, and again, at the same rate, while MES lines register coils in batches and single creates, updates
and logins come at their own rates (`scenarios/day.py`). The readers' GET p99 in the day over their p99
alone is the figure: writes should not make reads wait (target ≤ 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from .harness import Bench, Node, Options, prepared, serving
from .node_setup import ADMIN_SECRET, NODE_PREFIX, PREFIX
from .phases import locust_phase, wrk_phase
from .report import append_row, records_option, write_processes_option
from .resolve_hot import log_lines, write_results
from .runs import closing, run_context
from .scenarios import Scenario
from .scenarios.inputs import DAY_RATES, DAY_USERS

READ_CEILING = 2_000.0  # GETs a second one locust process paces well within a core here (README)
WRITE_RATES = {"MesLine": 2_000.0, "DayCreate": 20.0, "DayUpdate": 40.0, "DayLogin": 1.0}
GET, BATCH, CREATE, UPDATE, LOGIN = (
    "day: GET /api/handles",
    "day: batchCreate",
    "day: create",
    "day: update",
    "day: login",
)
TARGET = 2.0  # GET p99 in the day at most this many times the p99 of the reads alone
REACHED = 0.9  # a phase whose readers fell below this share of their rate measured something else


def day_rates(capacity_rps: float, locust_processes: int) -> dict[str, float]:
    """Each class's rate: readers at half the node's capacity (capped), writers at theirs; a rate set in the
    environment (`inputs.DAY_RATES`) wins."""
    rates = {"DayReader": min(capacity_rps / 2, READ_CEILING * locust_processes), **WRITE_RATES}
    for name, variable in DAY_RATES.items():
        if os.environ.get(variable):
            rates[name] = float(os.environ[variable])
    return {name: round(rate, 1) for name, rate in rates.items()}


def identifiers(node: Node) -> int:
    """How many identifiers the enterprise holds now."""
    query = {"prefix": PREFIX, "pageSize": "0"}
    admin = f"300%3A0.NA/{NODE_PREFIX}"  # the node administrator, as Handle REST names it
    answer = httpx.get(f"{node.base}/api/handles", params=query, auth=(admin, ADMIN_SECRET), timeout=30)
    answer.raise_for_status()
    return int(answer.json()["totalCount"])


def _phases(bench: Bench, node: Node, seconds: int) -> dict[str, Any]:
    capacity = wrk_phase(bench, node)
    rates = day_rates(capacity["wrk_rps"], bench.options.locust_processes)
    env = {DAY_RATES[name]: str(rate) for name, rate in rates.items()}
    print(f"locust: readers alone at {rates['DayReader']:,.0f} GET/s for {seconds} s", flush=True)
    alone = locust_phase(bench, node, DAY_USERS["DayReader"], seconds, "reads", classes="DayReader", env=env)
    before = identifiers(node)
    print(f"locust: the day, {rates} for {seconds} s", flush=True)
    day = locust_phase(
        bench, node, sum(DAY_USERS.values()), seconds, "day", classes=" ".join(DAY_USERS), env=env
    )
    coils = identifiers(node) - before
    return {"capacity": capacity, "rates": rates, "reads_alone": alone, "day": day, "created": coils}


def _figure(phase: dict[str, Any], name: str, field: str) -> float | None:
    row = phase["per_request"].get(name)
    return None if row is None else float(row[field])


def conclusions(result: dict[str, Any], seconds: int) -> None:
    """The figures of the day: GET p99 alone and in the day and their ratio, the writes' rates and p50s."""
    alone, day = result["reads_alone"], result["day"]
    p99_alone, p99_day = _figure(alone, GET, "p99_ms"), _figure(day, GET, "p99_ms")
    result["get_p99_alone_ms"], result["get_p99_day_ms"] = p99_alone, p99_day
    result["get_p99_ratio"] = round(p99_day / p99_alone, 2) if p99_alone and p99_day else None
    result["get_p99_target"] = TARGET
    result["get_rps_alone"], result["get_rps_day"] = _figure(alone, GET, "rps"), _figure(day, GET, "rps")
    result["coils_per_s"] = round(result["created"] / seconds)
    for label, name in (("create", CREATE), ("update", UPDATE), ("login", LOGIN), ("batch", BATCH)):
        result[f"{label}_p50_ms"] = _figure(day, name, "p50_ms")
    result["wrk_errors"] = result["capacity"].get("wrk_errors")
    result["errors"] = alone["errors"] + day["errors"]
    result["failures"] = alone["failures"] + day["failures"]
    result["per_request"] = {f"alone, {k}": v for k, v in alone["per_request"].items()} | {
        f"day, {k}": v for k, v in day["per_request"].items()
    }


def _reach(result: dict[str, Any]) -> list[str]:
    """The phases whose readers did not keep their rate: their latencies are of another load."""
    wanted = result["rates"]["DayReader"]
    return [
        f"{phase}: readers made {rate:,.0f} GET/s of {wanted:,.0f}"
        for phase, rate in (("alone", result["get_rps_alone"]), ("day", result["get_rps_day"]))
        if rate is None or rate < REACHED * wanted
    ]


def command(scenario: str, config: dict[str, Any]) -> str:
    """The command that runs a paced scenario (`supply_chain_day`, `soak`) with `config` again."""
    return (
        f"python -m benchmarks run {scenario} --db {config['db']}{records_option(config, scenario)} "
        f"--workers {config['workers']}{write_processes_option(config)} "
        f"--redis {'on' if config['redis'] else 'off'} "
        f"--duration {config['seconds']} --locust-processes {config['locust_processes']}"
    )


Phases = Callable[[Bench, Node, int], dict[str, Any]]


def measured_once(
    scenario: Scenario, options: Options, seconds: int, phases: Phases
) -> tuple[dict[str, Any], datetime]:
    """A paced scenario's node seeded, served and measured by `phases`: the result so far, and its start."""
    started = datetime.now(UTC)
    config = asdict(options) | {"seconds": seconds, "records": scenario.records}
    result = run_context(scenario, options, started)
    result |= {"config": config, "command": command(scenario.name, config)}
    with prepared(scenario, options) as bench:
        with serving(bench) as node:
            result |= phases(bench, node, seconds)
        result["node_log"] = log_lines(bench.folder / "node.log")
    return result, started


def run_day(scenario: Scenario, options: Options, seconds: int, output: Path) -> Path:
    """The paced day, measured once; the results file, with a row added to `output/RESULTS.md`."""
    result, started = measured_once(scenario, options, seconds, _phases)
    conclusions(result, seconds)
    result["bottleneck"], result["bottleneck_reason"] = "paced", "every class keeps its own rate"
    closing(result)
    result["problems"] += _reach(result)
    path = write_results(result, started, scenario.name, output / "results")
    append_row(row(result, path), output / "RESULTS.md", COLUMNS, INTRO)
    return path


COLUMNS = [
    "UTC",
    "command (`python -m benchmarks …`)",
    "node capacity (wrk GET/s)",
    "readers' GET/s alone; in the day",
    "GET p99 alone",
    "GET p99 in the day",
    "ratio (≤ 2)",
    "coils/s created",
    "p50 create / update / batchCreate / login",
    "errors",
    "node cores alone; in the day",
    "results",
]
INTRO = """\
## A paced day (`run supply_chain_day`)

Readers at half the node's read-only capacity (wrk, in the same run; at most 2,000 GET/s a locust process),
first alone, then at the same rate beside MES lines registering 2,000 coils a second in batches of 100 to
1,000, 20 single creates, 40 single updates and 1 login a second (`benchmarks/scenarios/day.py`). "ratio" is
the readers' GET p99 in the day over their p99 alone; the target is at most 2.

"""


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def row(result: dict[str, Any], file: Path) -> str:
    cpu_alone, cpu_day = result["reads_alone"]["cpu"], result["day"]["cpu"]
    p50s = (result[f"{name}_p50_ms"] for name in ("create", "update", "batch", "login"))
    cells = [
        result["started"][:16].replace("T", " "),
        "`" + result["command"].removeprefix("python -m benchmarks ") + "`",
        f"{result['capacity']['wrk_rps']:,.0f}",
        f"{result['get_rps_alone'] or 0:,.0f}; {result['get_rps_day'] or 0:,.0f}",
        f"{_ms(result['get_p99_alone_ms'])} ms",
        f"{_ms(result['get_p99_day_ms'])} ms",
        "–" if result["get_p99_ratio"] is None else f"{result['get_p99_ratio']:.2f}",
        f"{result['coils_per_s']:,}",
        " / ".join(_ms(value) for value in p50s) + " ms",
        str(result["errors"]),
        f"{cpu_alone['node_cores']:.2f}; {cpu_day['node_cores']:.2f}",
        f"[{file.name}](results/{file.name})",
    ]
    return "| " + " | ".join(cells) + " |"
