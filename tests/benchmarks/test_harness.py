"""`python -m benchmarks` end to end, as a user runs it: a node seeded and served, locust and wrk driving it,
nginx measured in the same run, everything stopped, the results file and the RESULTS.md row written.

Short runs at low load: they show that the harness and every locust user class work and that the node
answers every request correctly; the figures themselves come from full runs (benchmarks/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.scenarios import SCENARIOS
from tests.support import PG_ADMIN_URL, ROOT

pytestmark = pytest.mark.slow
# Seeded records of the short runs: enough for a Zipf workload and the caches, a few seconds to seed (the
# scenarios' own 100,000 take half a minute and show nothing more about the harness).
RECORDS = ("--records", "10000")
Completed = subprocess.CompletedProcess[str]
REQUIRED = {"scenario", "config", "rps", "p50_ms", "p95_ms", "p99_ms", "errors", "reference_rps", "ratio"}


def bench(
    *args: str, timeout: float = 400, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"IDNODE_BENCH_POSTGRES_URL": PG_ADMIN_URL} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def run(scenario: str, output: Path, *args: str) -> dict[str, Any]:
    done = bench("run", scenario, "--output", str(output), *args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (output / "results").glob(f"{scenario}-*.json")
    result: dict[str, Any] = json.loads(path.read_text())
    assert set(result) >= REQUIRED
    assert result["errors"] == 0
    assert result["problems"] == []
    assert result["left_running"] == []
    assert path.name in (output / "RESULTS.md").read_text()
    return result


def test_list_names_every_scenario() -> None:
    done = bench("list")
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()] == list(SCENARIOS)


def test_resolve_batch_with_its_reference(tmp_path: Path) -> None:
    result = run("resolve_batch", tmp_path, "--duration", "3", "--users", "2", *RECORDS)
    assert result["requests"] > 0
    assert result["records"] == 10_000
    assert (
        "--records 10000 --workers 1" in (tmp_path / "RESULTS.md").read_text()
    )  # the command to run it again
    assert result["items_per_request"] == 100
    # wrk measured the node, and nginx the same bytes, in the same run.
    assert result["wrk_rps"] > 0
    assert result["reference_rps"] > 0
    assert result["ratio"] == round(result["wrk_rps"] / result["reference_rps"], 3)  # rounded as reported
    assert result["hits"]["l1_hits"] > 0  # warmed: the batch's handles come from the cache


def test_resolve_native_against_http_and_nginx_with_two_workers(tmp_path: Path) -> None:
    result = run("resolve_native", tmp_path, "--duration", "2", "--workers", "2", *RECORDS)
    # In one run: hdlload over UDP and TCP, wrk on the HTTP GETs of the same node, nginx, all answered.
    for mode in ("udp", "tcp"):
        assert result[f"{mode}_ok"] > 0
        assert result[f"{mode}_ok"] == result[f"{mode}_answers"]  # every answer a resolution (code 1)
        hits = result[f"{mode}_hits"]
        # From the hot set in L1, in both processes (SO_REUSEPORT spread the sockets), no store read.
        assert hits["l1_hits"] >= result[f"{mode}_answers"] > 0
        assert hits["store_reads"] == 0
        assert len(hits["per_process"]) == 2
        assert result[f"{mode}_cpu"]["hdlload_cores_whole_run"] > 0
    assert result["wrk_rps"] > 0
    assert result["reference_rps"] > 0
    assert result["native_checked"]  # UDP and TCP answers checked against the HTTP ones first
    ratios = result["ratios"]
    assert ratios["native_udp/http"] == round(result["udp_rps"] / result["wrk_rps"], 3)
    assert ratios["http/nginx"] == result["ratio"]
    assert set(result["limits"]) == set(result["per_node_core"]) == {"udp", "tcp", "http"}
    assert "native_udp/http at least" in result["target"]
    # Its own table in RESULTS.md, with the command that runs it again.
    assert "--workers 2 --redis off --duration 2`" in (tmp_path / "RESULTS.md").read_text()


def test_supply_chain_mix_on_postgres_with_redis(tmp_path: Path) -> None:
    result = run("supply_chain_mix", tmp_path, "--duration", "6", "--users", "4", "--db", "postgres",
                 "--redis", "on", *RECORDS)  # fmt: skip
    # Every task of the mix ran, and none failed (SNMS envelopes and every batch item checked).
    tasks = {"mix: GET /api/handles", "mix: batchCreate", "mix: update", "mix: detail", "login"}
    assert tasks <= set(result["per_request"])
    assert result["config"] == result["config"] | {"db": "postgres", "redis": True, "users": 4}
    assert result["reference_rps"] is None
    assert result["ratio"] is None


def test_a_paced_day_keeps_every_rate_and_compares_the_readers_alone_and_beside_the_writers(
    tmp_path: Path,
) -> None:
    # Rates a busy test machine keeps whatever else runs: the harness's own defaults are for a quiet one.
    rates = {
        "IDNODE_BENCH_DAY_READS": "200",
        "IDNODE_BENCH_DAY_COILS": "600",
        "IDNODE_BENCH_DAY_CREATES": "4",
    }
    done = bench("run", "supply_chain_day", "--duration", "4", "--output", str(tmp_path), *RECORDS, env=rates)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (tmp_path / "results").glob("supply_chain_day-*.json")
    result = json.loads(path.read_text())

    assert (result["errors"], result["problems"], result["left_running"]) == (0, [], [])
    assert result["rates"] == result["rates"] | {"DayReader": 200, "MesLine": 600, "DayCreate": 4}
    names = {"day: GET /api/handles", "day: batchCreate", "day: create", "day: update", "day: login"}
    assert set(result["reads_alone"]["per_request"]) == {"day: GET /api/handles", "Aggregated"}
    assert names <= set(result["day"]["per_request"])
    assert 150 <= result["get_rps_alone"] <= 250  # paced: neither flat out nor starved
    assert 0.5 * 600 <= result["coils_per_s"] <= 1.3 * 600  # counted on the node
    ratio = result["get_p99_day_ms"] / result["get_p99_alone_ms"]
    assert result["get_p99_ratio"] == pytest.approx(ratio, abs=0.01)
    table = (tmp_path / "RESULTS.md").read_text()
    assert "## A paced day (`run supply_chain_day`)" in table
    assert "`run supply_chain_day --db sqlite --records 10000 --workers 1 --redis off --duration 4" in table


def test_a_short_soak_paces_the_mix_and_draws_the_memory_of_every_node_process(tmp_path: Path) -> None:
    rates = {
        "IDNODE_BENCH_DAY_READS": "100",
        "IDNODE_BENCH_DAY_COILS": "500",
        "IDNODE_BENCH_DAY_UPDATES": "4",
    }
    done = bench("run", "soak", "--duration", "8", "--output", str(tmp_path), *RECORDS, env=rates)
    [path] = (tmp_path / "results").glob("soak-*.json")
    result = json.loads(path.read_text())

    # Eight seconds are all warm-up: the memory may grow, and the run says so; nothing else may go wrong.
    grown = [p for p in result["problems"] if p.startswith("resident memory grew")]
    assert (result["errors"], result["left_running"]) == (0, [])
    assert result["problems"] == grown, result["problems"]
    assert done.returncode == (1 if grown else 0), done.stdout[-3000:] + done.stderr[-3000:]
    assert result["rates"] == {"DayReader": 100, "MesLine": 500, "DayUpdate": 4}
    assert {"peak, mix: GET /api/handles", "soak, day: GET /api/handles", "soak, day: batchCreate"} <= set(
        result["per_request"]
    )
    assert 0.5 * 500 <= result["soak_coils_per_s"] <= 1.3 * 500  # counted on the node
    curve = result["curve"]
    assert len(curve) >= 6
    assert curve[-1]["s"] >= 8
    assert all(len(point["rss"]) == 2 and min(point["rss"].values()) > 10 * 2**20 for point in curve)
    assert all(sum(point["tasks"].values()) >= 1 for point in curve)
    assert (tmp_path / "results" / result["png"]).stat().st_size > 10_000
    table = (tmp_path / "RESULTS.md").read_text()
    assert "## A soak (`run soak`)" in table
    assert "`run soak --db sqlite --records 10000 --workers 1 --redis off --duration 8" in table


def test_scale_measures_hot_and_cold_at_two_sizes_of_one_growing_database(tmp_path: Path) -> None:
    sizes = ("--db", "postgres", "--records", "20000", "--duration", "2")
    done = bench("run", "scale", *sizes, "--output", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (tmp_path / "results").glob("scale-*.json")
    result = json.loads(path.read_text())

    assert (result["errors"], result["problems"], result["left_running"]) == (0, [], [])
    assert (result["small"]["identifiers"], result["large"]["identifiers"]) == (200, 20_000)
    assert result["grown"]["rows"] == 19_800
    for size in ("small", "large"):
        hot, cold = result[size]["hot"], result[size]["cold"]
        assert hot["hits"]["l1_hits"] >= 0.9 * hot["requests"]  # hot: the caches answer
        # Cold: every GET a store read, but for concurrent GETs of one handle, which share one (200 handles
        # under 32 connections meet often).
        assert cold["hits"]["store_reads"] >= 0.8 * cold["requests"]
        assert cold["hits"]["l1_hits"] == 0
    ratio = result["cold_rps_large"] / result["cold_rps_small"]
    assert result["cold_ratio"] == pytest.approx(ratio, abs=0.001)
    assert (
        "`run scale --db postgres --records 20000 --workers 1 --redis off --duration 2`"
        in (tmp_path / "RESULTS.md").read_text()
    )


def test_scale_runs_on_postgresql_only(tmp_path: Path) -> None:
    done = bench("run", "scale", "--output", str(tmp_path))
    assert done.returncode == 2
    assert "--db postgres" in done.stderr


def test_resolve_remote_measures_another_nodes_handles_first_and_cached_against_the_local_path(
    tmp_path: Path,
) -> None:
    # 20,000 records: the Zipf samples never name 5,774 of them, enough first resolutions for 2 s.
    args = ("--records", "20000", "--duration", "2", "--output", str(tmp_path))
    done = bench("run", "resolve_remote", *args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (tmp_path / "results").glob("resolve_remote-*.json")
    result = json.loads(path.read_text())

    assert (result["errors"], result["problems"], result["left_running"]) == (0, [], [])
    first, cached = result["remote_first"], result["remote_cached"]
    origin_first, origin_cached = first["hits"]["origin"], cached["hits"]["origin"]
    # Each first resolution is 88.901's (a store read there: never asked before); the cached ones are not.
    assert 0 < first["requests"] <= first["handles"]
    assert origin_first["store_reads"] >= first["requests"]
    assert origin_cached["l1_hits"] + origin_cached["store_reads"] <= 0.01 * cached["requests"]
    direct = result["remote_first_direct"]  # under 88.901 itself: asked of 88.901 directly, 88 not at all
    assert 0 < direct["requests"] <= direct["handles"]
    assert direct["hits"]["origin"]["store_reads"] >= direct["requests"]
    assert direct["hits"]["top"]["store_reads"] == 0
    assert result["relayed_by_top"]["first remote under 88.901"] == 0
    assert cached["hits"]["asking"]["l1_hits"] >= cached["requests"]  # the handle and its prefix's
    for name, node in (("local_cold", "asking"), ("origin_cold", "origin")):
        assert result[name]["hits"][node]["l1_hits"] == 0
        assert result[name]["hits"][node]["store_reads"] >= 0.8 * result[name]["requests"]
    ratio = cached["rps"] / result["local_hot"]["rps"]
    assert result["ratios"]["cached remote / local hot"] == pytest.approx(ratio, abs=0.001)
    table = (tmp_path / "RESULTS.md").read_text()
    assert "## Resolution across nodes (`run resolve_remote`)" in table
    assert "`run resolve_remote --db sqlite --records 20000 --workers 1 --redis off --duration 2`" in table


def test_resolve_remote_runs_no_locust(tmp_path: Path) -> None:
    done = bench("run", "resolve_remote", "--users", "5", "--output", str(tmp_path))
    assert done.returncode == 2
    assert "wrk only" in done.stderr


def test_register_batch_creates_what_it_reports(tmp_path: Path) -> None:
    result = run("register_batch", tmp_path, "--duration", "3", "--users", "1")
    created = result["per_request"]["register_batch"]["requests"] * 1_000
    assert created > 0
    assert result["items_per_s"] > 0


def test_scaling_writes_its_steps_and_picture(tmp_path: Path) -> None:
    done = bench(
        "scaling", "resolve_hot", "--users", "2,4", "--duration", "2", "--output", str(tmp_path), *RECORDS
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (tmp_path / "results").glob("resolve_hot-scaling-*.json")
    result = json.loads(path.read_text())
    assert [step["users"] for step in result["steps"]] == [2, 4]
    assert all(step["errors"] == 0 and step["bottleneck"] for step in result["steps"])
    assert (tmp_path / "results" / "resolve_hot-scaling.png").read_bytes().startswith(b"\x89PNG")
