"""A production line's MES, as a process of its own: it registers coils through the SDK, with an outbox, a
chunk at a time, and then flushes the outbox until everything is delivered. Used by test_outbox_node.py.

    python -m tests.sdk.mes_line URL OUTBOX COUNT
"""

from __future__ import annotations

import json
import sys
import time

from sdk import NodeClient, Retries

PREFIX = "88.999.1"
CHUNK = 500


def coil(n: int) -> tuple[str, dict[str, str]]:
    values = {"heatNo": f"H26{n // 40:06d}", "coilNo": f"C{n:09d}", "grade": "Q355B GB/T 1591-2018"}
    return f"{PREFIX}/COIL-{n:06d}", values | {"thicknessMm": "3.75"}


def main() -> None:
    url, outbox, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    statuses: dict[str, int] = {}
    retries = Retries(attempts=2, base=0.05, cap=0.1)
    with NodeClient(
        url,
        username=f"300:0.NA/{PREFIX}",
        secret="acme-secret",
        outbox_path=outbox,
        retries=retries,
        timeout=5,
    ) as mes:
        for start in range(0, count, CHUNK):
            batch = mes.register_many(
                (coil(n) for n in range(start, min(count, start + CHUNK))), template_version="1.0"
            )
            for item in batch:
                statuses[item.status] = statuses.get(item.status, 0) + 1
            time.sleep(0.05)  # the line produces the next chunk
        deadline = time.monotonic() + 120
        flushed = 0
        while mes.pending() and time.monotonic() < deadline:
            report = mes.flush_outbox()
            flushed += report.delivered
            if report.undeliverable:
                print(json.dumps({"undeliverable": report.undeliverable}))
                sys.exit(1)
            time.sleep(0.2)
        print(json.dumps({"statuses": statuses, "flushed": flushed, "pending": mes.pending()}))


if __name__ == "__main__":
    main()
