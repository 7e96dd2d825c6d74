"""resolve_remote's figures from its measurements: the ratios, what the counters say went wrong, its
RESULTS.md table (benchmarks/resolve_remote.py measures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import records_option


def answers(hits: dict[str, Any]) -> int:
    """Resolutions a node answered (from its caches or its store) between two readings of /metrics."""
    return int(hits["l1_hits"] + hits["l2_hits"] + hits["store_reads"])


MEASURED = {  # and what `python -m benchmarks run` calls them
    "local_hot": "local hot (88.902)",
    "remote_cached": "cached remote (88.901.1)",
    "remote_first": "first remote (88.901.1)",
    "remote_first_direct": "first remote (88.901)",
    "origin_cold": "origin cold (at 88.901)",
    "local_cold": "local cold (88.902)",
}
FIRSTS = {"remote_first": "first remote", "remote_first_direct": "first remote under 88.901"}


def _ratio(result: dict[str, Any], over: str, under: str) -> float:
    return round(float(result[over]["rps"]) / max(float(result[under]["rps"]), 1e-9), 3)


def _relayed(found: dict[str, Any]) -> float:
    """The share of 88.901's answers the top-level node read the handle for too: it relayed those (both
    count the requests still in flight when wrk stopped, which wrk does not)."""
    top = found["hits"]["top"]
    relayed: float = (top["store_reads"] + top["l2_hits"]) / max(answers(found["hits"]["origin"]), 1)
    return round(relayed, 3)


def conclusions(result: dict[str, Any]) -> None:
    for name in MEASURED:
        result[f"{name}_rps"] = result[name]["rps"]
    result["ratios"] = {
        "cached remote / local hot": _ratio(result, "remote_cached", "local_hot"),
        "first remote / origin cold": _ratio(result, "remote_first", "origin_cold"),
        "first remote under 88.901 / origin cold": _ratio(result, "remote_first_direct", "origin_cold"),
        "first remote / local cold": _ratio(result, "remote_first", "local_cold"),
    }
    result["relayed_by_top"] = {label: _relayed(result[name]) for name, label in FIRSTS.items()}
    result["errors"] = sum(result[name]["errors"] for name in MEASURED)
    result["failures"] = []
    result["per_request"] = {
        label: {key: result[name][key] for key in ("requests", "rps", "p50_ms", "p99_ms", "errors")}
        for name, label in MEASURED.items()
    }
    first = result["remote_first"]
    result["bottleneck"] = "wrk"
    result["bottleneck_reason"] = (
        f"three nodes flat out under wrk, no locust; in the first remote resolutions 88.902 used "
        f"{first['cores']['asking']:.2f} cores, 88.901 {first['cores']['origin']:.2f}, 88 "
        f"{first['cores']['top']:.2f}, the machine {first['machine_busy_cores']:.2f}"
    )


def _first_shortfalls(result: dict[str, Any], name: str, label: str) -> list[str]:
    found = [f"{label}: wrong answer: {line}" for line in result[f"{name}_wrong_answers"]]
    first = result[name]
    if (asked := answers(first["hits"]["origin"])) < 0.99 * first["requests"]:
        found.append(f"{label}: 88.901 answered only {asked:,} of {first['requests']:,} requests")
    if first["requests"] > first["handles"]:
        found.append(f"{label}: the {first['handles']:,} never-asked handles ran out")
    return found


def shortfalls(result: dict[str, Any]) -> list[str]:
    """What the counters say the run did not measure what it claims to; and wrong answers."""
    found = [line for name, label in FIRSTS.items() for line in _first_shortfalls(result, name, label)]
    if result["errors"]:
        found.append(f"wrk: {result['errors']} errors or non-2xx answers")
    cached = result["remote_cached"]
    if (asked := answers(cached["hits"]["origin"])) > 0.01 * cached["requests"]:
        found.append(f"cached remote: 88.901 answered {asked:,} of {cached['requests']:,} requests")
    for name, who in (("local_cold", "asking"), ("origin_cold", "origin")):
        hits = result[name]["hits"][who]
        if hits["l1_hits"] or hits["store_reads"] < 0.8 * result[name]["requests"]:
            found.append(f"{name}: {hits['store_reads']:,} store reads and {hits['l1_hits']:,} L1 hits")
    return found


def command(config: dict[str, Any]) -> str:
    records = records_option(config, "resolve_remote")
    return (
        f"python -m benchmarks run resolve_remote --db {config['db']}{records}"
        f" --workers {config['workers']} --redis {'on' if config['redis'] else 'off'} "
        f"--duration {config['seconds']}"
    )


COLUMNS = [
    "UTC",
    "command (`python -m benchmarks …`)",
    "local hot GET/s (p99)",
    "cached remote GET/s (p99)",
    "cached / local hot",
    "first remote GET/s (p50; p99), relayed by 88",
    "first remote under 88.901 GET/s (p50; p99), relayed by 88",
    "origin cold GET/s (p99)",
    "local cold GET/s (p99)",
    "first / origin cold; under 88.901",
    "CPU cores 88.902 / 88.901 / 88 / machine, first remote",
    "errors",
    "results",
]
INTRO = """\
## Resolution across nodes (`run resolve_remote`)

Three nodes on loopback, each its own process and database: the top-level node `88`, the origin `88.901` and
the asking node `88.902`, both seeded with the same records (the same suffixes and values), each under an
enterprise of its own (`88.901.1`, `88.902.1`), measured with wrk (`-t1 -c32`) through 88.902. Local hot:
resolve_hot's Zipf GETs of 88.902's own handles, caches warm. Cached remote: the same Zipf GETs of 88.901.1's
handles once each has been asked at 88.902 (its upstream stage keeps the answers by their TTL; 88.901
answers none during the measurement). First remote: GETs of 88.901.1's handles never asked before, each once,
so that each goes to 88.901: one HTTP request from 88.902 per handle (the misses of one instant are not
batched across nodes), which is what the figure measures, with a second one from 88 to 88.901 where 88
relays it ("relayed by 88": the share 88 answered too; 88.902 routes a prefix through its parent when the
prefix handle, 0.NA/88.901.1 here, names no site of its own). First remote under 88.901: the same for
handles under the node prefix itself (88.901/…), whose site 88.902 learns from 88. Origin cold: the first
remote paths straight at 88.901, started again with caches off; local cold: the same suffixes at 88.902,
started again with caches off. The three nodes and wrk share the machine (its cores: the last CPU column).

"""


def _rate(found: dict[str, Any]) -> str:
    return f"{found['rps']:,.0f} ({found['p99_ms']:,.1f} ms)"


def _first(found: dict[str, Any]) -> str:
    return f"{found['rps']:,.0f} ({found['p50_ms']:,.1f}; {found['p99_ms']:,.1f} ms), {_relayed(found):.0%}"


def row(result: dict[str, Any], file: Path) -> str:
    first, ratios = result["remote_first"], result["ratios"]
    cores = first["cores"]
    cells = [
        result["started"][:16].replace("T", " "),
        "`" + result["command"].removeprefix("python -m benchmarks ") + "`",
        _rate(result["local_hot"]),
        _rate(result["remote_cached"]),
        f"{ratios['cached remote / local hot']:.2f}",
        _first(first),
        _first(result["remote_first_direct"]),
        _rate(result["origin_cold"]),
        _rate(result["local_cold"]),
        f"{ratios['first remote / origin cold']:.3f}; "
        f"{ratios['first remote under 88.901 / origin cold']:.3f}",
        f"{cores['asking']:.2f} / {cores['origin']:.2f} / {cores['top']:.2f} / "
        f"{first['machine_busy_cores']:.2f}",
        str(result["errors"]),
        f"[{file.name}](results/{file.name})",
    ]
    return "| " + " | ".join(cells) + " |"
