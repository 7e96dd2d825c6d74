"""What a run concludes and where it goes: which process limited it, the results file, the RESULTS.md row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .cpu import SATURATED
from .scenarios import SCENARIOS

HEADROOM = 1.5  # wrk getting this many times locust's rate from the same node: the node was not the limit

_COLUMNS = [
    "UTC",
    "command (`python -m benchmarks …`)",
    "req/s (locust)",
    "p50",
    "p95",
    "p99",
    "errors",
    "req/s (wrk)",
    "nginx req/s (wrk)",
    "ratio",
    "CPU cores locust / node / machine",
    "bottleneck",
    "results",
]
_TITLE = "# Benchmark results\n\n"
_HEADER = """\
One row per `python -m benchmarks run SCENARIO` (newest last; see README.md), with the command that runs it
again and its results file. Latencies are locust's;
"req/s (wrk)" is the node's capacity on the same requests, measured with wrk in the same run, and "nginx req/s
(wrk)" nginx serving one answer's bytes under the same wrk command; "ratio" divides the two. CPU is in cores
(1.0 = one core busy) while locust ran: all its processes, the node's, the whole machine's.

"""


def _busiest(per_process: dict[str, float], leaving_out: int | None = None) -> float:
    return max((cores for pid, cores in per_process.items() if int(pid) != leaving_out), default=0.0)


def bottleneck(cpu: dict[str, Any], rps: float, capacity_rps: float | None = None) -> tuple[str, str]:
    """Which side limited a locust run of `rps`, from the CPU its processes used (and from the node's
    capacity on the same requests, `capacity_rps`, when wrk measured it), and why that one.

    Each locust worker and each node worker runs Python on one thread: one of them near a full core is the
    limit. With neither there, a machine whose cores are all busy is the limit, shared; otherwise the
    requests wait on something else (the database's disk, the users' own pace).
    """
    generator = _busiest(cpu["locust_per_process"], leaving_out=cpu["locust_master"])
    node = _busiest(cpu["node_per_process"])
    busy, cores = cpu["machine_busy_cores"], cpu["machine_cores"]
    said = (
        f"busiest locust worker {generator:.2f} cores, busiest node process {node:.2f}; "
        f"locust {cpu['locust_cores']:.2f}, node {cpu['node_cores']:.2f}, machine {busy:.2f} of {cores}"
    )
    if capacity_rps is not None:
        said += f"; wrk drove the same node to {capacity_rps / max(rps, 1e-9):.1f}× locust's rate"
        if capacity_rps >= HEADROOM * rps:
            return "load generator", said
    if generator >= SATURATED and node < SATURATED:
        return "load generator", said
    if node >= SATURATED and generator < SATURATED:
        return "node", said
    if node >= SATURATED:
        return "both", said
    if busy >= 0.9 * cores:
        side = "load generator" if cpu["locust_cores"] >= cpu["node_cores"] else "node"
        return f"{side} (CPU shared)", said
    return "neither (latency-bound)", said


def problems(result: dict[str, Any]) -> list[str]:
    """Everything that went wrong in a run: errors of any generator, the node's log, processes left."""
    found = [
        f"locust: {row['Occurrences']}× {row['Method']} {row['Name']}: {row['Error']}"
        for row in result["failures"]
    ]
    if result.get("wrk_errors"):
        found.append(f"wrk: {result['wrk_errors']} errors or non-2xx answers")
    for step in result.get("steps", []):
        if step.get("wrk", {}).get("wrk_errors"):
            found.append(f"wrk, {step['users']} connections: {step['wrk']['wrk_errors']} errors or non-2xx")
    if result.get("reference_errors"):
        found.append(f"nginx under wrk: {result['reference_errors']} errors")
    found += [f"node log: {line}" for line in result["node_log"][:10]]
    found += [f"left running: {line}" for line in result["left_running"]]
    return found


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def records_option(config: dict[str, Any], scenario: str = "resolve_native") -> str:
    """` --records N` when a run seeded other than its scenario's count (results before the option: none)."""
    records = config.get("records")
    return "" if records in (None, SCENARIOS[scenario].records) else f" --records {records}"


def write_processes_option(config: dict[str, Any]) -> str:
    """` --write-processes N` when the node wrote SNMS batches in processes of their own."""
    count = config.get("write_processes") or 0
    return f" --write-processes {count}" if count else ""


def command(scenario: str, config: dict[str, Any]) -> str:
    """The command that runs `scenario` with `config` again, every setting spelled out."""
    return (
        f"python -m benchmarks run {scenario} --db {config['db']}{records_option(config, scenario)} "
        f"--workers {config['workers']}{write_processes_option(config)} "
        f"--redis {'on' if config['redis'] else 'off'} --users {config['users']} "
        f"--duration {config['seconds']} --locust-processes {config['locust_processes']}"
    )


def row(result: dict[str, Any], file: Path) -> str:
    """The RESULTS.md row of a run."""
    cpu, ratio = result["cpu"], result.get("ratio")
    cells = [
        result["started"][:16].replace("T", " "),
        "`" + command(result["scenario"], result["config"]).removeprefix("python -m benchmarks ") + "`",
        _number(result["rps"]) + (f" ({result['items_per_s']:,} items/s)" if "items_per_s" in result else ""),
        _ms(result["p50_ms"]),
        _ms(result["p95_ms"]),
        _ms(result["p99_ms"]),
        str(result["errors"]),
        _number(result.get("wrk_rps")),
        _number(result.get("reference_rps")),
        "" if ratio is None else f"{ratio:.2f}",
        f"{cpu['locust_cores']:.2f} / {cpu['node_cores']:.2f} / {cpu['machine_busy_cores']:.2f}",
        result["bottleneck"],
        f"[{file.name}](results/{file.name})",
    ]
    return "| " + " | ".join(cells) + " |"


def append_row(line: str, table: Path, columns: list[str] = _COLUMNS, intro: str = _HEADER) -> None:
    """Add `line` as the last row of the Markdown table of `columns` in `table` (RESULTS.md), wherever in the
    file that table is; a table not there yet is started, after `intro`, at the end (the file too)."""
    header = "| " + " | ".join(columns) + " |"
    lines = table.read_text().splitlines() if table.exists() else _TITLE.splitlines()
    if header in lines:
        at = lines.index(header) + 2  # past the header and its --- line
        while at < len(lines) and lines[at].startswith("|"):
            at += 1
        lines.insert(at, line)
    else:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", *intro.splitlines(), header, "|" + " --- |" * len(columns), line]
    table.write_text("\n".join(lines) + "\n")
