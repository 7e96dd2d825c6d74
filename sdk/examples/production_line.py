"""A stamping line's MES, simulated: parts are stamped, registered a pallet at a time with the automotive-part
template, fitted into assemblies (linked `partOf`), and the assemblies into a vehicle (linked `installedIn`
its VIN). The node may go down at any moment: writes wait in the outbox and are delivered when it is back.

    python -m sdk.examples.production_line --node http://127.0.0.1:8000 --user 300:0.NA/88.999.1 \\
        --secret SECRET --parts 5000 --outbox data/line-outbox.db

See sdk/examples/README.md for a run in which the node is stopped midway.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from sdk import NodeClient

PALLET = 500
PARTS_PER_ASSEMBLY = 4
ASSEMBLIES_PER_VEHICLE = 10


def part(prefix: str, n: int) -> tuple[str, dict[str, str]]:
    return f"{prefix}/PART-{n:07d}", {
        "customerPartNo": f"DF-3502010-C{n % 997:04d}",
        "supplierPartNo": f"A3502-{n % 9973:05d}",
        "supplierCode": "SY-0101",
        "batchNo": f"B{date.today():%Y%m%d}-{n // PALLET:03d}",
        "productionDate": date.today().isoformat(),
    }


def report(line: NodeClient, what: str, queued: int) -> None:
    waiting = line.pending()
    note = f", {waiting} records waiting in the outbox (node unreachable)" if waiting else ""
    print(f"{what}: {queued} queued{note}", flush=True)


def run(line: NodeClient, prefix: str, parts: int, pause: float) -> None:
    for first in range(0, parts, PALLET):
        pallet = [part(prefix, n) for n in range(first, min(parts, first + PALLET))]
        result = line.register_many(pallet, template_version="1.0")
        report(line, f"pallet {first // PALLET + 1}: {len(pallet)} parts", result.count("queued"))
        for start in range(first, first + len(pallet), PARTS_PER_ASSEMBLY):
            assembly = f"{prefix}/ASSY-{start // PARTS_PER_ASSEMBLY:06d}"
            line.register(assembly, {"URL": f"https://mes.example.com/assemblies/{assembly}"})
            for n in range(start, min(first + len(pallet), start + PARTS_PER_ASSEMBLY)):
                line.link(assembly, part(prefix, n)[0], relation="partOf")
            if (start // PARTS_PER_ASSEMBLY + 1) % ASSEMBLIES_PER_VEHICLE == 0:
                vehicle = f"{prefix}/VIN-LGAX{start // (PARTS_PER_ASSEMBLY * ASSEMBLIES_PER_VEHICLE):07d}"
                line.register(vehicle, {"URL": f"https://mes.example.com/vehicles/{vehicle}"})
                for a in range(ASSEMBLIES_PER_VEHICLE):
                    line.link(
                        vehicle,
                        f"{prefix}/ASSY-{start // PARTS_PER_ASSEMBLY - a:06d}",
                        relation="installedIn",
                    )
        time.sleep(pause)


def deliver(line: NodeClient, wait: float) -> None:
    deadline = time.monotonic() + wait
    while line.pending() and time.monotonic() < deadline:
        flushed = line.flush_outbox()
        if flushed.delivered:
            print(f"delivered {flushed.delivered} queued records; {line.pending()} still waiting", flush=True)
        for handle, reason in flushed.undeliverable:
            print(f"the node refused {handle}: {reason}", flush=True)
        time.sleep(2)


def check(line: NodeClient, prefix: str, parts: int) -> None:
    found = line.resolve_many([part(prefix, n)[0] for n in range(parts)])
    whole = sum(
        1
        for n, record in enumerate(found)
        if record and record.as_dict().items() >= part(prefix, n)[1].items()
    )
    print(f"{whole} of {parts} parts resolve, each with its values", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="A stamping line registering its parts through the SDK.")
    parser.add_argument("--node", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="300:0.NA/88.999.1")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--parts", type=int, default=5_000)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between pallets")
    parser.add_argument("--outbox", default="data/line-outbox.db")
    parser.add_argument(
        "--wait", type=float, default=300, help="how long to wait for an unreachable node at the end"
    )
    args = parser.parse_args()
    prefix = args.user.partition("0.NA/")[2]
    with NodeClient(args.node, username=args.user, secret=args.secret, outbox_path=args.outbox) as line:
        run(line, prefix, args.parts, args.pause)
        deliver(line, args.wait)
        check(line, prefix, args.parts)


if __name__ == "__main__":
    main()
