"""Native resolution: the node's hot set over the native Handle protocol, UDP and TCP, against the node's own
HTTP hot GET and against nginx, all in one run.

    python -m benchmarks run resolve_native [--workers 2] [--duration 9] [--db sqlite|postgres]
                                            [--redis on|off]

Seeded and sampled as resolve_hot is (100,000 records; 200,000 Zipf(1.1) samples: wrk's requests file, and,
as bare handles one a line, hdlload's), the node's native listeners on a free port of their own, every
sampled handle in every process's L1 (checked on /metrics) and a few native answers checked against the HTTP
ones. Then, one after another against the same node: hdlload over UDP, hdlload over TCP (keep-alive
connections, requests pipelined), wrk on the HTTP GETs (resolve_hot's command); and, once the node has
stopped, nginx serving one answer's bytes under the same wrk command. Each with the CPU of the node's
processes and of the load generator. Results: results/resolve_native-<UTC>.json, a row in RESULTS.md.
"""

from __future__ import annotations

import random
import resource
import socket
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sdk.native import bodies, values
from sdk.native.codes import ENVELOPE_SIZE, OpCode, OpFlag, ResponseCode
from sdk.native.message import Envelope, Message, frame
from sdk.native.udp import Reassembly

from .cpu import SATURATED
from .harness import Bench, Node, Options, prepared, serving
from .native_load import NativeLoad, build
from .phases import WRK_LEAD_S, answer_bytes, reference_phase, wrk_phase
from .report import append_row, records_option
from .resolve_hot import Config, claim_check, log_lines, served, write_results
from .runs import closing, run_context
from .scenarios import Scenario
from .services import process_metrics
from .workload import handle_of
from .wrk import shown

TARGET = 1.5  # the issue's: native UDP resolutions a second at least this many times the HTTP hot GET's
HOST = "127.0.0.1"
# hdlload's load: 16 sockets (enough for SO_REUSEPORT to spread them over two processes) with 4 requests in
# flight on each, twice wrk's 32; one thread, which uses a third of a core or less at these rates, so that the
# node keeps the CPU of these 2 cores. 8, 16 or 32 sockets × 4, 16 × 8 and 4 × 16 measured the same here
# within the machine's noise, with p50 growing with the requests in flight.
UDP = NativeLoad("udp", connections=16, depth=4, seconds=9, threads=1)
TCP = NativeLoad("tcp", connections=16, depth=4, seconds=9, threads=1)
WARM_SECONDS = 2  # each warm-up round: hdlload over the distinct handles, UDP and TCP in turn
WARM_ROUNDS = 16  # at most
SEED = 2641
CHECKED = 6  # hot handles (the hottest and the first distinct ones) checked natively, besides the seeded ones
TIMEOUT = 10.0
MINOR = 10  # the protocol version hdlload speaks (2.10)

# ---------------------------------------------------------------------------------------------- checking


def _request(handle: str, request_id: int, keep_alive: bool) -> bytes:
    """A framed RESOLUTION request of all of `handle`'s values, as hdlload sends it."""
    body = bodies.ResolutionRequest(handle).encode()
    flags = OpFlag.KA if keep_alive else OpFlag.NONE
    message = Message(OpCode.RESOLUTION, 0, flags, body, expiration=int(time.time()) + 600)
    envelope = Envelope(2, MINOR, suggested_major=2, suggested_minor=MINOR, request_id=request_id)
    return frame(envelope, message.encode())


def _udp_answers(port: int, handles: list[str]) -> list[Message]:
    """Each handle asked in one datagram, one after another; the answers, reassembled."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        for request_id, handle in enumerate(handles, 1):
            sock.sendto(_request(handle, request_id, keep_alive=False), (HOST, port))
            parts = Reassembly()
            while True:
                datagram, sender = sock.recvfrom(65_535)
                envelope = Envelope.decode(datagram)
                if envelope.request_id != request_id:
                    raise RuntimeError(f"UDP: answer to request {envelope.request_id}, not {request_id}")
                whole = parts.add(sender, envelope, datagram[ENVELOPE_SIZE:])
                if whole is not None:
                    found.append(Message.decode(whole))
                    break
    return found


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise RuntimeError(f"TCP: connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def _tcp_answers(port: int, handles: list[str]) -> list[Message]:
    """Every handle asked on one keep-alive connection, all requests sent before any answer is read
    (pipelined, as hdlload does); the answers, which come in the requests' order."""
    found = []
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as sock:
        sock.sendall(b"".join(_request(h, n, keep_alive=True) for n, h in enumerate(handles, 1)))
        for request_id in range(1, len(handles) + 1):
            envelope = Envelope.decode(_read(sock, ENVELOPE_SIZE))
            if envelope.request_id != request_id:
                raise RuntimeError(f"TCP: answer to request {envelope.request_id}, not {request_id}")
            found.append(Message.decode(_read(sock, envelope.length)))
    return found


def _differences(transport: str, handle: str, answer: Message, rest: list[Any]) -> list[str]:
    if answer.response_code != ResponseCode.SUCCESS:
        return [f"{transport} {handle}: response code {answer.response_code}: {bodies.read_error(answer)}"]
    resolved = bodies.read_resolution(answer)
    native = [values.to_json(value) for value in resolved.values]
    if resolved.handle != handle:
        return [f"{transport} {handle}: the answer is of {resolved.handle}"]
    if native != rest:
        return [f"{transport} {handle}: values {native} where HTTP answers {rest}"]
    return []


def checked_handles(bench: Bench) -> list[str]:
    """Seeded records (checked against what was registered over HTTP first), the hottest handle and the
    first distinct ones of the samples: the hot lane's answers and the general path's."""
    assert bench.workload is not None
    hot = [handle_of(bench.workload.hottest), *bench.workload.distinct[:CHECKED]]
    return list(dict.fromkeys([handle for handle, _ in bench.samples] + hot))


def wrong_native_answers(node: Node, handles: list[str]) -> list[str]:
    """How the node's UDP and TCP answers differ from its HTTP answers (the values, in the REST API's JSON
    form): nothing, normally."""
    rest = [httpx.get(f"{node.base}/api/handles/{h}", timeout=TIMEOUT).json()["values"] for h in handles]
    problems = []
    for transport, answers in (
        ("UDP", _udp_answers(node.native_port, handles)),
        ("TCP", _tcp_answers(node.native_port, handles)),
    ):
        for handle, answer, expected in zip(handles, answers, rest, strict=True):
            problems += _differences(transport, handle, answer, expected)
    return problems


def native_answer_bytes(node: Node, handle: str) -> int:
    """The size of the framed TCP answer for `handle` (envelope included): what one resolution costs on the
    wire, beside nginx's HTTP body."""
    [answer] = _tcp_answers(node.native_port, [handle])
    return ENVELOPE_SIZE + len(answer.encode())


# ---------------------------------------------------------------------------------------------- measuring


def handle_file(bench: Bench) -> Path:
    """The samples as bare handles, one a line, in the order sampled: hdlload takes them round robin, which
    keeps the skew."""
    assert bench.workload is not None
    samples = [handle_of(line) for line in bench.workload.paths.read_text().split()]
    path = bench.folder / "handles.txt"
    path.write_text("\n".join(samples) + "\n")
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def native_phase(bench: Bench, node: Node, load: NativeLoad, handles: Path) -> dict[str, Any]:
    """hdlload with `load` over the sampled handles: its figures, what answered (from /metrics), the CPU of
    the node's processes and of hdlload; every key prefixed with the mode (`udp_`, `tcp_`)."""
    command = load.command(HOST, node.native_port, handles, minor=MINOR)
    workers = bench.options.workers
    before = process_metrics(node.base, workers)
    started, generator = time.time(), _children_cpu()
    result = load.run(HOST, node.native_port, handles)
    ended = time.time()
    hits = served(before, process_metrics(node.base, workers))
    # hdlload sends for its last `seconds`: before them it reads its handles file and opens its sockets.
    cpu = node.sampler.usage(ended - load.seconds + WRK_LEAD_S, ended)
    cpu = {name: value for name, value in cpu.items() if not name.startswith("locust")}
    # Its own CPU can only be read once it is reaped: over its whole run, reading the file included.
    cpu["hdlload_cores_whole_run"] = round((_children_cpu() - generator) / (ended - started), 2)
    config = Config(bench.options.db, workers, bench.options.layers)
    prefix = f"{load.mode}_"
    return {
        f"{prefix}generator": "hdlload",
        **{f"{prefix}{name}": value for name, value in asdict(result).items()},
        f"{prefix}hits": hits,
        f"{prefix}claim_problems": claim_check(config, hits, result.answers),
        f"{prefix}cpu": cpu,
        f"{prefix}load": asdict(load),
        f"{prefix}command": shown(command),
    }


def limit(cpu: dict[str, Any], generator_cores: float, threads: int) -> tuple[str, str]:
    """Which side limited one measurement, from the CPU its processes used: each node process runs its
    event loop on one thread, and so does each generator thread (hdlload's, wrk's -t1)."""
    node = max(cpu["node_per_process"].values(), default=0.0)
    per_thread = generator_cores / max(threads, 1)
    busy, cores = cpu["machine_busy_cores"], cpu["machine_cores"]
    rest = max(busy - cpu["node_cores"] - generator_cores, 0.0)  # other processes, kernel work of no process
    said = (
        f"busiest node process {node:.2f} cores, node {cpu['node_cores']:.2f}, "
        f"generator {generator_cores:.2f} ({threads} thread(s)), rest {rest:.2f}, "
        f"machine {busy:.2f} of {cores}"
    )
    if node >= SATURATED and per_thread < SATURATED:
        return "node", said
    if per_thread >= SATURATED and node < SATURATED:
        return "load generator", said
    if node >= SATURATED:
        return "both", said
    if busy >= 0.9 * cores:
        side = "node" if cpu["node_cores"] >= generator_cores else "load generator"
        return f"{side} (CPU shared)", said
    return "neither (latency-bound)", said


def _l1_bytes(node: Node, workers: int) -> dict[int, float]:
    return {pid: found.get("l1_bytes", 0) for pid, found in process_metrics(node.base, workers).items()}


def warm_native(node: Node, workers: int, distinct: list[str], folder: Path) -> dict[str, Any]:
    """Short hdlload runs over the distinct handles, UDP and TCP in turn, until one leaves every process's L1
    as it found it: each process makes the native rendering of an answer on first use and keeps it with the
    entry (L1's bytes grow), which costs several times what a hit does; measured, none is made. Each round
    asks for the handles in a new shuffle (hdlload starts at the top of its file, and round robin over
    sockets in one order would send a handle to the same process every time). `converged` False: some were
    still made after `WARM_ROUNDS` (a problem of the run)."""
    before = _l1_bytes(node, workers)
    grown: list[float] = []
    for rounds in range(1, WARM_ROUNDS + 1):
        shuffled = list(distinct)
        random.Random(SEED + rounds).shuffle(shuffled)
        handles = folder / "warm-handles.txt"
        handles.write_text("\n".join(shuffled) + "\n")
        load = UDP if rounds % 2 else TCP
        replace(load, seconds=WARM_SECONDS).run(HOST, node.native_port, handles)
        after = _l1_bytes(node, workers)
        grown.append(sum(after.values()) - sum(before.values()))
        if after == before and rounds >= 2:  # both kinds ran, and the last one made nothing new
            break
        before = after
    converged = grown[-1] == 0
    return {"rounds": len(grown), "converged": converged, "l1_bytes_grown": grown, "l1_bytes": after}


def _native_problems(result: dict[str, Any]) -> list[str]:
    found = []
    for mode in ("udp", "tcp"):
        name = f"hdlload {mode.upper()}"
        for count in ("errors", "lost", "late", "not_found", "reconnects"):
            if result[f"{mode}_{count}"]:
                found.append(f"{name}: {result[f'{mode}_{count}']} {count.replace('_', ' ')}")
        found += [f"{name}: {problem}" for problem in result[f"{mode}_claim_problems"]]
    found += [f"wrk: {problem}" for problem in result["wrk_claim_problems"]]
    warm_up = result["native_warm_up"]
    if not warm_up["converged"]:
        found.append(f"native renderings still made after {warm_up['rounds']} warm-up rounds")
    return found


def _measured(result: dict[str, Any], prefix: str) -> dict[str, Any]:
    """One measurement's figures, in the shape of the harness's rows by request name; for hdlload, answers
    of another code than 1 and requests lost count as errors."""
    figures = {name: result.get(f"{prefix}{name}") for name in ("rps", "p50_ms", "p99_ms", "errors")}
    if prefix in ("udp_", "tcp_"):
        figures["errors"] += result[f"{prefix}lost"] + result[f"{prefix}not_found"]
        return {"requests": result[f"{prefix}answers"]} | figures
    return {"requests": result.get(f"{prefix}requests")} | figures


def _conclusions(result: dict[str, Any]) -> None:
    """The ratios, the target, which side limited each measurement; the figures in the harness's shape."""
    udp, tcp, http, nginx = (result[f"{k}_rps"] for k in ("udp", "tcp", "wrk", "reference"))
    result["ratios"] = {
        "native_udp/http": round(udp / http, 3),
        "native_tcp/http": round(tcp / http, 3),
        "native_udp/nginx": round(udp / nginx, 3),
        "native_tcp/nginx": round(tcp / nginx, 3),
        "http/nginx": round(http / nginx, 3),
    }
    result["ratio"] = result["ratios"]["http/nginx"]
    result["ratio_of"] = "wrk req/s of the node's HTTP GETs / wrk req/s of nginx"
    result["target"] = {"native_udp/http at least": TARGET, "met": udp >= TARGET * http}
    # Requests a second for each core the node's processes used: steadier than the rates on a machine whose
    # other work takes CPU from the node, as it did here.
    result["per_node_core"] = {
        name: round(result[f"{prefix}rps"] / max(result[f"{prefix}cpu"]["node_cores"], 0.01))
        for name, prefix in (("udp", "udp_"), ("tcp", "tcp_"), ("http", "wrk_"))
    }
    limits = {
        "udp": limit(result["udp_cpu"], result["udp_cpu"]["hdlload_cores_whole_run"], UDP.threads),
        "tcp": limit(result["tcp_cpu"], result["tcp_cpu"]["hdlload_cores_whole_run"], TCP.threads),
        "http": limit(result["wrk_cpu"], result["wrk_cpu"]["wrk_cores_whole_run"], 1),
    }
    result["limits"] = {name: {"side": side, "reason": why} for name, (side, why) in limits.items()}
    result["bottleneck"], result["bottleneck_reason"] = limits["udp"]
    result["per_request"] = {
        "native UDP (hdlload)": _measured(result, "udp_"),
        "native TCP (hdlload)": _measured(result, "tcp_"),
        "HTTP GET (wrk)": _measured(result, "wrk_"),
        "nginx, one answer (wrk)": _measured(result, "reference_"),
    }
    # The harness's figures (`rps`, `p50_ms`, ...) are the native UDP ones.
    result |= result["per_request"]["native UDP (hdlload)"] | {"p95_ms": None}  # hdlload: p50 and p99 only
    result["errors"] = sum(row["errors"] for row in result["per_request"].values())
    result["failures"] = []  # no locust: nothing of its kind


def command(config: dict[str, Any]) -> str:
    """The command that runs resolve_native with `config` again, every setting spelled out."""
    return (
        f"python -m benchmarks run resolve_native --db {config['db']}{records_option(config)} "
        f"--workers {config['workers']} "
        f"--redis {'on' if config['redis'] else 'off'} --duration {config['seconds']}"
    )


def run_native(scenario: Scenario, options: Options, seconds: int, output: Path) -> Path:
    """Measure resolve_native once; the results file, written under `output/results`, with a row added to
    the native table of `output/RESULTS.md`."""
    started = datetime.now(UTC)
    udp, tcp = replace(UDP, seconds=seconds), replace(TCP, seconds=seconds)
    config = asdict(options) | {
        "seconds": seconds, "records": scenario.records, "udp_load": asdict(udp), "tcp_load": asdict(tcp),
    }  # fmt: skip
    result = run_context(scenario, options, started) | {"config": config, "command": command(config)}
    build()  # before any node starts: a compiler run is no part of a measurement
    with prepared(scenario, options) as bench:
        assert bench.workload is not None
        handles = handle_file(bench)
        with serving(bench) as node:
            checked = checked_handles(bench)
            if problems := wrong_native_answers(node, checked):
                raise RuntimeError("wrong native answers before any load: " + "; ".join(problems))
            result["native_checked"] = checked
            result["native_answer_bytes"] = native_answer_bytes(node, handle_of(bench.workload.hottest))
            print("hdlload: warming the native path", flush=True)
            result["native_warm_up"] = warm_native(
                node, options.workers, bench.workload.distinct, bench.folder
            )
            for load in (udp, tcp):
                print(f"hdlload: {load.mode.upper()} for {seconds} s", flush=True)
                result |= native_phase(bench, node, load, handles)
            print("wrk: the node's HTTP GETs", flush=True)
            result |= wrk_phase(bench, node)
            hot = Config(options.db, options.workers, options.layers)
            result["wrk_claim_problems"] = claim_check(hot, result["wrk_hits"], result["wrk_requests"])
            body = answer_bytes(bench, node)
        result["node_log"] = log_lines(bench.folder / "node.log")
        print("wrk: nginx serving one answer's bytes", flush=True)  # the node has stopped: nginx gets the CPU
        result |= reference_phase(bench, body)
    _conclusions(result)
    closing(result)
    result["problems"] += _native_problems(result)
    path = write_results(result, started, scenario.name, output / "results")
    append_row(row(result, path), output / "RESULTS.md", COLUMNS, INTRO)
    return path


# ---------------------------------------------------------------------------------------------- reporting

COLUMNS = [
    "UTC",
    "command (`python -m benchmarks …`)",
    "native UDP req/s (p50 / p99)",
    "native TCP req/s (p50 / p99)",
    "HTTP GET req/s, wrk (p50 / p99)",
    "nginx req/s, wrk",
    "UDP / HTTP",
    "TCP / HTTP",
    "UDP / nginx",
    "HTTP / nginx",
    "CPU cores node / generator / machine: UDP; TCP; HTTP",
    "req/s per node core: UDP; TCP; HTTP",
    "limit: UDP; TCP; HTTP",
    "results",
]
INTRO = """## Native Handle protocol (`run resolve_native`)

One row per `python -m benchmarks run resolve_native` (newest last; see README.md): in one run, against one
node with the hot set in L1, hdlload over UDP and over TCP (keep-alive, pipelined), wrk on the node's HTTP
GETs of the same handles, then nginx serving one answer's bytes under the same wrk command. Latencies are the
generators' own. CPU is in cores while each generator sent: the node's processes, the generator's (hdlload or
wrk, over its whole run), the whole machine's; "per node core" divides a rate by the node's cores.

"""


def _figure(result: dict[str, Any], prefix: str) -> str:
    p50, p99 = result[f"{prefix}p50_ms"], result[f"{prefix}p99_ms"]
    return f"{result[f'{prefix}rps']:,.0f} ({p50:.2f} / {p99:.2f} ms)"


def _cpu(cpu: dict[str, Any], generator: str) -> str:
    return f"{cpu['node_cores']:.2f} / {cpu[generator]:.2f} / {cpu['machine_busy_cores']:.2f}"


def row(result: dict[str, Any], file: Path) -> str:
    """The RESULTS.md row of a resolve_native run."""
    ratios, limits = result["ratios"], result["limits"]
    cells = [
        result["started"][:16].replace("T", " "),
        "`" + result["command"].removeprefix("python -m benchmarks ") + "`",
        _figure(result, "udp_"),
        _figure(result, "tcp_"),
        _figure(result, "wrk_"),
        f"{result['reference_rps']:,.0f}",
        *(f"{ratios[name]:.2f}" for name in ("native_udp/http", "native_tcp/http", "native_udp/nginx")),
        f"{ratios['http/nginx']:.2f}",
        "; ".join(
            (
                _cpu(result["udp_cpu"], "hdlload_cores_whole_run"),
                _cpu(result["tcp_cpu"], "hdlload_cores_whole_run"),
                _cpu(result["wrk_cpu"], "wrk_cores_whole_run"),
            )
        ),
        "; ".join(f"{result['per_node_core'][name]:,}" for name in ("udp", "tcp", "http")),
        "; ".join(limits[name]["side"] for name in ("udp", "tcp", "http")),
        f"[{file.name}](results/{file.name})",
    ]
    return "| " + " | ".join(cells) + " |"
