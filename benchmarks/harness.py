"""Setting a scenario up: its seeded database and requests file, then its node (and private Redis) serving,
checked and warmed, with the CPU of its processes sampled.

    with prepared(scenario, options) as bench:    # scratch folder, seeded database, requests file
        with serving(bench) as node:              # redis-server, idnode serve, CPU sampler
            ...                                   # load it
        ...                                       # the node has stopped: the nginx reference

Every process started is stopped when its block ends, a failed run or not.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from resolver.cache.coherence import shared_slots_path

from .cpu import Sampler, process_group
from .data import Record
from .node_setup import PREFIX, SECRET
from .resolve_hot import Config, Run, Workload, warm
from .scenarios import Requests, Scenario
from .scenarios import inputs as variables
from .seeding import seeded_database
from .services import NATIVE_PORT_VARIABLE, node_env, node_serving, process_metrics, redis_serving
from .workload import batch_lines, every_path, handle_of, write_paths, zipf_paths
from .wrk import WrkLoad

# One locust worker: with the node's one process, one busy process a core on this 2-core machine (README).
LOCUST_PROCESSES = 1
WRK_SECONDS = 9  # resolve_hot's wrk command: -t1 -c32 -d9s
BATCH_HANDLES = 100  # handles a resolve_batch request


@dataclass(frozen=True)
class Options:
    db: str = "sqlite"
    workers: int = 1  # node processes
    redis: bool = False  # a private redis-server, and the L2 cache on it
    locust_processes: int = LOCUST_PROCESSES
    wrk_seconds: int = WRK_SECONDS
    write_processes: int = 0  # IDNODE_WRITE_PROCESSES of the node: SNMS batches written elsewhere

    @property
    def wrk(self) -> WrkLoad:
        return WrkLoad(threads=1, connections=32, seconds=self.wrk_seconds)

    @property
    def layers(self) -> str:
        return "l1,l2" if self.redis else "l1"


@dataclass(frozen=True)
class Bench:
    """A scenario's database and requests, before and after its node serves."""

    scenario: Scenario
    options: Options
    folder: Path
    database_url: str
    workload: Workload | None  # None: the scenario reads no requests file
    samples: list[Record]  # seeded records to check the node's answers against

    @property
    def run(self) -> Run:
        """What resolve_hot's warm-up and nginx reference need."""
        assert self.workload is not None
        return Run(self.options.wrk, self.workload, self.folder, self.database_url)

    def locust_env(self) -> dict[str, str]:
        env = {
            variables.PREFIX: PREFIX,
            variables.SECRET: SECRET,
            variables.RECORDS: str(self.scenario.records),
        }
        return env | ({variables.PATHS: str(self.workload.paths)} if self.workload else {})


@dataclass(frozen=True)
class Node:
    base: str
    redis_url: str | None
    sampler: Sampler  # groups: "node", and "locust" once a locust run starts
    log: Path
    native_port: int  # the native Handle protocol's UDP and TCP port, on 127.0.0.1


def requests_file(scenario: Scenario, handles: list[str], folder: Path) -> Workload | None:
    """The file locust and wrk pick requests from; what it names; the line whose answer nginx serves."""
    if scenario.requests is Requests.NONE:
        return None
    if scenario.requests is Requests.UNIFORM:
        paths = every_path(handles)
        return Workload(write_paths(paths, folder / "requests.txt"), handles, paths[0])
    samples = zipf_paths(handles)
    distinct = list(dict.fromkeys(handle_of(path) for path in samples))
    if scenario.requests is Requests.ZIPF_BATCHES:
        lines = batch_lines(samples, BATCH_HANDLES)
        return Workload(write_paths(lines, folder / "requests.txt"), distinct, lines[0])
    hottest = Counter(samples).most_common(1)[0][0]
    return Workload(write_paths(samples, folder / "requests.txt"), distinct, hottest)


@contextmanager
def prepared(scenario: Scenario, options: Options) -> Iterator[Bench]:
    """A scratch folder and a seeded database of `options.db` for `scenario`, removed afterwards."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"idnode-{scenario.name}-")))
        print(f"seeding {scenario.records:,} records on {options.db}", flush=True)
        seeded = stack.enter_context(seeded_database(options.db, scenario.records, scenario.template))
        if options.db == "postgres":
            # The nodes' coherence table for a PostgreSQL URL lives in /dev/shm and outlives them.
            stack.callback(shared_slots_path(seeded.url).unlink, missing_ok=True)
        workload = requests_file(scenario, seeded.handles, folder)
        yield Bench(scenario, options, folder, seeded.url, workload, seeded.samples)


def wrong_answers(base: str, samples: list[Record]) -> list[str]:
    """How the node's answers for some seeded records differ from what was registered (nothing, normally)."""
    problems = []
    for handle, fields in samples:
        answer = httpx.get(f"{base}/api/handles/{handle}", timeout=10)
        if answer.status_code != 200:
            problems.append(f"GET {handle}: HTTP {answer.status_code} {answer.text[:200]}")
            continue
        got = {(v["index"], v["type"], v["data"]["value"]) for v in answer.json()["values"]}
        if missing := set(fields) - got:
            problems.append(f"GET {handle}: values {sorted(missing)} missing from {sorted(got)}")
    return problems


def node_group(base: str, workers: int) -> int:
    """The process group of the node: its workers' (the pids /metrics names), led by `idnode serve`."""
    groups = {process_group(pid) for pid in process_metrics(base, workers)}
    if len(groups) != 1:
        raise RuntimeError(f"the node's workers are in {len(groups)} process groups")
    return groups.pop()


@contextmanager
def serving(bench: Bench) -> Iterator[Node]:
    """The node of `bench` (and its private Redis) serving, answers checked, caches warmed if the scenario
    says so; the CPU of its processes sampled until it stops."""
    options = bench.options
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_serving(bench.folder / "redis")) if options.redis else None
        log = bench.folder / "node.log"
        env = node_env(bench.database_url, options.layers, redis_url, write_processes=options.write_processes)
        base = stack.enter_context(node_serving(env, options.workers, log))
        if problems := wrong_answers(base, bench.samples):
            raise RuntimeError("wrong answers before any load: " + "; ".join(problems))
        sampler = stack.enter_context(Sampler({"node": node_group(base, options.workers)}))
        if bench.scenario.warm:
            print("warming the caches", flush=True)
            warm(base, Config(options.db, options.workers, options.layers), bench.run, redis_url)
        yield Node(base, redis_url, sampler, log, int(env[NATIVE_PORT_VARIABLE]))
