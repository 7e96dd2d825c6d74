"""The load scenarios, one command each (see benchmarks/README.md).

python -m benchmarks list
python -m benchmarks run SCENARIO [--duration S] [--users N] [--workers W] [--db sqlite|postgres]
                                  [--redis on|off] [--locust-processes P] [--records N]
python -m benchmarks scaling SCENARIO [--users 10,25,50,100,200] [--duration S] [...]
python -m benchmarks run resolve_native [--workers W] [--duration S] [--db ...] [--redis ...]   (no locust)
python -m benchmarks run soak [--duration S] [--workers W] [--db ...] [--redis ...]   (10 minutes by default)
python -m benchmarks run resolve_remote [--records N] [--workers W] [--duration S] [--db ...] [--redis ...]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import replace
from pathlib import Path

from .harness import LOCUST_PROCESSES, WRK_SECONDS, Options
from .scenarios import SCENARIOS, Scenario

OUTPUT = Path(__file__).parent


def _shown(path: Path) -> str:
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--workers", type=int, default=1, help="node processes (default 1)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--redis", choices=["on", "off"], default="off", help="a private redis-server, L2 on it"
    )
    parser.add_argument(
        "--locust-processes", type=int, default=LOCUST_PROCESSES,
        help=f"locust worker processes (default {LOCUST_PROCESSES})",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help="where results/ and RESULTS.md go (default benchmarks/)"
    )
    parser.add_argument(
        "--write-processes",
        type=int,
        default=0,
        help="the node's IDNODE_WRITE_PROCESSES: SNMS batches written by processes of their own (default 0)",
    )
    parser.add_argument(
        "--records",
        type=int,
        help="records seeded (default: the scenario's; the tests' short runs seed fewer)",
    )


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="idnode's load scenarios")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the scenarios, one a line")
    run = commands.add_parser("run", help="one scenario, once: results/SCENARIO-<UTC>.json, a RESULTS.md row")
    _common(run)
    run.add_argument("--duration", type=int, help="seconds of locust load (default: the scenario's)")
    run.add_argument("--users", type=int, help="locust users (default: the scenario's)")
    scaling = commands.add_parser("scaling", help="one scenario at several user counts, and a PNG")
    _common(scaling)
    scaling.add_argument("--users", default="10,25,50,100,200", help="comma-separated user counts")
    scaling.add_argument("--duration", type=int, default=15, help="seconds each step (default 15)")
    return parser.parse_args(argv)


def _options(args: argparse.Namespace, seconds: int) -> Options:
    # wrk measures for as long as locust does, up to resolve_hot's 9 s: enough for a steady figure.
    wrk_seconds = min(seconds, WRK_SECONDS)
    return Options(
        args.db, args.workers, args.redis == "on", args.locust_processes, wrk_seconds, args.write_processes
    )


def _run(scenario: Scenario, args: argparse.Namespace) -> int:
    from .runs import run_scenario  # not for `list`: it imports the node's packages

    users, seconds = args.users or scenario.users, args.duration or scenario.seconds
    if scenario.native:
        from .resolve_native import run_native

        if args.users or args.locust_processes != LOCUST_PROCESSES:
            print(
                f"{scenario.name} runs no locust: --users and --locust-processes do not apply",
                file=sys.stderr,
            )
            return 2
        path = run_native(scenario, _options(args, seconds), min(seconds, WRK_SECONDS), args.output)
    elif scenario.scale:
        from .scale import run_scale

        if args.db != "postgres" or args.users or args.locust_processes != LOCUST_PROCESSES:
            print(f"{scenario.name} runs wrk on PostgreSQL: --db postgres, no locust", file=sys.stderr)
            return 2
        path = run_scale(scenario, _options(args, seconds), min(seconds, WRK_SECONDS), args.output)
    elif scenario.remote:
        from .resolve_remote import run_remote

        if args.users or args.locust_processes != LOCUST_PROCESSES or args.write_processes:
            print(
                f"{scenario.name} runs wrk only: no --users, --locust-processes, --write-processes",
                file=sys.stderr,
            )
            return 2
        path = run_remote(scenario, _options(args, seconds), min(seconds, WRK_SECONDS), args.output)
    elif scenario.soak:
        from .soak import run_soak

        if args.users:
            print(f"{scenario.name} paces fixed user counts: --users does not apply", file=sys.stderr)
            return 2
        path = run_soak(scenario, _options(args, seconds), seconds, args.output)
    elif scenario.paced:
        from .day import run_day

        if args.users:
            print(
                f"{scenario.name} has a fixed user count per class: --users does not apply", file=sys.stderr
            )
            return 2
        path = run_day(scenario, _options(args, seconds), seconds, args.output)
    else:
        path = run_scenario(scenario, _options(args, seconds), users, seconds, args.output)
    result = json.loads(path.read_text())
    figures = (
        *("rps", "p50_ms", "p95_ms", "p99_ms", "errors", "wrk_rps", "reference_rps", "ratio", "ratios"),
        *("get_p99_alone_ms", "get_p99_day_ms", "get_p99_ratio", "coils_per_s", "rates"),
        *("hot_rps_small", "hot_rps_large", "hot_ratio", "cold_rps_small", "cold_rps_large", "cold_ratio"),
        *("rss_warm_mb", "rss_end_mb", "rss_growth", "tasks_early_max", "tasks_late_max"),
        *("local_hot_rps", "remote_cached_rps", "remote_first_rps", "origin_cold_rps", "local_cold_rps"),
    )
    print(json.dumps({name: result[name] for name in figures if name in result}))
    for name, row in result["per_request"].items():
        requests = "" if row["requests"] is None else f"{row['requests']:,}"  # wrk of nginx: not kept
        print(
            f"  {name:<24} {requests:>8} requests {row['rps']:>9,.1f}/s  "
            f"p50 {row['p50_ms']:>7,.1f} ms  p99 {row['p99_ms']:>7,.1f} ms  errors {row['errors']}"
        )
    for name, limit in result.get("limits", {}).items():  # resolve_native: each measurement's
        print(f"limit, {name}: {limit['side']} ({limit['reason']})")
    print(f"bottleneck: {result['bottleneck']} ({result['bottleneck_reason']})")
    for problem in result["problems"]:
        print(f"problem: {problem}")
    print(f"results: {_shown(path)} (and a row in {_shown(args.output / 'RESULTS.md')})")
    return 1 if result["problems"] or result["errors"] else 0


def _scaling(scenario: Scenario, args: argparse.Namespace) -> int:
    from .plot import scaling_png
    from .runs import results_png, run_scaling

    if scenario.native or scenario.remote:
        print(f"{scenario.name} has no scaling run: it runs no locust users", file=sys.stderr)
        return 2

    users = [int(count) for count in args.users.split(",")]
    result = run_scaling(scenario, _options(args, args.duration), users, args.duration, args.output)
    for step in result["steps"]:
        print(
            f"{step['users']:>4} users: {step['rps']:>9,.0f} req/s  p99 {step['p99_ms']:>7,.1f} ms  "
            f"errors {step['errors']}  {step['bottleneck']} ({step['reason']})"
        )
        if "wrk" in step:
            wrk = step["wrk"]
            print(
                f"{'':>4}  wrk: {wrk['wrk_rps']:>9,.0f} req/s  p99 {wrk['wrk_p99_ms']:>7,.1f} ms  "
                f"errors {wrk['wrk_errors']}  node {wrk['wrk_cpu']['node_cores']:.2f} cores"
            )
    for problem in result["problems"]:
        print(f"problem: {problem}")
    png = scaling_png(result, results_png(scenario, args.output))
    print(f"results: {_shown(Path(result['path']))}, {_shown(png)}")
    return 1 if result["problems"] else 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


def main() -> int:
    # SIGTERM unwinds the `with` blocks like Ctrl-C does, so that node, Redis, locust and nginx are stopped.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started where SIGINT is ignored
    args = arguments()
    if args.command == "list":
        for scenario in SCENARIOS.values():
            load = "hdlload and wrk" if scenario.native else f"{scenario.users} users"
            load = "wrk, three nodes" if scenario.remote else load
            print(f"{scenario.name:<17} {scenario.summary} ({load}, {scenario.seconds} s)")
        return 0
    scenario = SCENARIOS[args.scenario]
    if args.records is not None:
        if args.records < 1:
            print("--records is a positive count", file=sys.stderr)
            return 2
        scenario = replace(scenario, records=args.records)
    return _run(scenario, args) if args.command == "run" else _scaling(scenario, args)


if __name__ == "__main__":
    sys.exit(main())
