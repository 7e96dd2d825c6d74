"""The one module of report formats: what a secondary node tells its top-level node, and in what fields.

Each report is a kind, a subject (what it is about) and a body; its id is the subject and a digest of the
body (`registry.reporting.Report`), so the same report made twice is stored once. Reports travel in batches,
`POST {parent}/api/reports` with `{"node": "88.901", "reports": [{"id", "kind", "body"}, …]}`, answered
`{"accepted": n, "duplicates": m}`. An adapter for another top-level interface is one more module like this
one, fed the same data.

Days are the reporting day in China Standard Time (UTC+8), as the national top-level node counts them.

The mapping, kind by kind: when it is sent, its subject, then each field ← where it comes from (the item the
top-level node asks for).

`config` — at start and at once when it changes; subject `config`.
    codingScheme ← "Handle" (编码方案) · nodePrefix ← the node prefix (节点前缀) · addresses ← the address
    the node publishes (IP地址) · tcpPort, udpPort ← IDNODE_NATIVE_PORT (TCP/UDP端口) · httpPort ←
    IDNODE_HTTP_PORT (HTTP端口)
`enterprises` — at once on a change, and every hour each one (sent again only if it changed); subject
`enterprise:<credit code>`.
    name (企业名称) · creditCode (统一社会信用代码) · industry ← GB/T 4754 code (所属行业) · contact
    (联系方式) · state ← 1 active, 0 disabled (状态) · prefixes ← [{prefix, routing: {node}}]: the enterprise
    prefixes and the node that answers for them (企业前缀及路由)
`templates` — at once when one is created or changed (and every hour each one, sent again only if it
changed); subject `template:<prefix>/<version>`.
    the template as the SNMS API shows it: prefix, version, industryCategory…, items (数据模板)
`identifiers` — daily (so far, on `idnode report flush`); subject `identifiers:<day>:<prefix>:<part>`.
    day · prefix · operations ← [{handle, operation, values}], each identifier's changes of the day in the
    journal: 1 add (created), 2 delete (deleted), 3 modify (changed), with the record's public values now
    (none for a delete) (标识主数据及操作类型) · part · final
`statistics` — daily (so far, on flush); subject `stats:<day>:<prefix>`, one for each prefix and one for the
node prefix (the whole node).
    day · prefix · identifiersNew, identifiersTotal (新增/累计标识注册量) · requests (解析请求量) · answered
    (解析成功量) · sources ← [{address, count}] (来源IP及次数) · for the node prefix: prefixesNew,
    prefixesTotal (新增/累计前缀数) · final
`monitoring` — daily (so far, on flush); subject `monitoring:<day>`.
    day · latencyMinMs, latencyAvgMs, latencyMaxMs (解析时延) · peakQps, peakAt (峰值QPS及时间) ·
    registrations, registrationLatencyMinMs, registrationLatencyAvgMs, registrationLatencyMaxMs ← the
    requests creating or changing identifiers (Handle REST PUT, SNMS create/update, one or a batch), timed
    until their answer starts (注册时延) · final
`events` — at once; subject `event:<id>`.
    id (事件ID) · relatedEvent ← the anomaly a recovery ends (关联事件) · time ← ISO 8601 (时间) · reason
    (原因) · type ← 1 network, 2 system, 3 attack, 4 other (类型) · recovery ← true for a recovery
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final

import orjson

from registry import Enterprise, InvalidInput, Template
from registry.reporting import Incoming, PrefixCounts, Report

CONFIG, ENTERPRISES, TEMPLATES, IDENTIFIERS = "config", "enterprises", "templates", "identifiers"
STATISTICS, MONITORING, EVENTS = "statistics", "monitoring", "events"
KINDS: Final = (CONFIG, ENTERPRISES, TEMPLATES, IDENTIFIERS, STATISTICS, MONITORING, EVENTS)

ADD, DELETE, MODIFY = 1, 2, 3
NETWORK, SYSTEM, ATTACK, OTHER = 1, 2, 3, 4
CHINA = timezone(timedelta(hours=8))
# Identifier operations per report: a day of a busy prefix is many reports of a size a POST carries well.
OPERATIONS_PER_REPORT = 1_000
MAX_BATCH = 500  # reports per POST


def day_of(epoch: float) -> str:
    """The reporting day of an instant: its date in China Standard Time."""
    return datetime.fromtimestamp(epoch, CHINA).date().isoformat()


def day_bounds(day: str) -> tuple[int, int]:
    """The epoch seconds a reporting day starts at and ends before."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), CHINA)
    return int(start.timestamp()), int((start + timedelta(days=1)).timestamp())


@dataclass(frozen=True, slots=True)
class Place:
    """Where the node answers: its resolution configuration."""

    node_prefix: str
    addresses: tuple[str, ...]
    native_port: int | None
    http_port: int | None

    def routing(self) -> dict[str, Any]:
        return {"node": self.node_prefix, "addresses": list(self.addresses), "tcpPort": self.native_port,
                "udpPort": self.native_port, "httpPort": self.http_port}  # fmt: skip


def config(place: Place) -> Report:
    return Report(CONFIG, "config", {"codingScheme": "Handle", "nodePrefix": place.node_prefix} | {
        k: v for k, v in place.routing().items() if k != "node"})  # fmt: skip


def enterprise(found: Enterprise, node_prefix: str) -> Report:
    """An enterprise and its prefixes, each routed to this node (which answers for them)."""
    body = {
        "name": found.name, "creditCode": found.credit_code, "industry": found.industry,
        "contact": found.contact, "state": 1 if found.status == "active" else 0,
        "prefixes": [{"prefix": p, "routing": {"node": node_prefix}} for p in found.prefixes],
    }  # fmt: skip
    return Report(ENTERPRISES, f"enterprise:{found.credit_code}", body)


def template(found: Template) -> Report:
    return Report(TEMPLATES, f"template:{found.prefix}/{found.version}", found.to_json())


def operation(first: str, last: str) -> int | None:
    """An identifier's operation of a day, from its first and last change in the journal (None: made and
    deleted the same day, nothing to tell)."""
    if first == "create":
        return None if last == "delete" else ADD
    return DELETE if last == "delete" else MODIFY


# An identifier's operation as the daily report carries it: the handle, 1/2/3, its public values (not for 2).
Operation = tuple[str, int, list[dict[str, Any]] | None]


def identifiers(day: str, prefix: str, operations: Sequence[Operation], *, final: bool) -> list[Report]:
    """The day's operations on the identifiers of `prefix`, in parts of `OPERATIONS_PER_REPORT`."""
    reports = []
    for part, at in enumerate(range(0, len(operations), OPERATIONS_PER_REPORT)):
        chunk = operations[at : at + OPERATIONS_PER_REPORT]
        listed = [{"handle": h, "operation": op} | ({} if v is None else {"values": v}) for h, op, v in chunk]
        body = {"day": day, "prefix": prefix, "final": final, "part": part, "operations": listed}
        reports.append(Report(IDENTIFIERS, f"identifiers:{day}:{prefix}:{part}", body))
    return reports


def statistics(
    day: str, prefix: str, counts: PrefixCounts, *, new: int, total: int, final: bool, **node: int
) -> Report:
    """A prefix's day (`node`: the node prefix's prefixesNew and prefixesTotal besides)."""
    sources = sorted(counts.sources.items(), key=lambda item: (-item[1], item[0]))
    body = {
        "day": day, "prefix": prefix, "final": final, "identifiersNew": new, "identifiersTotal": total,
        "requests": counts.requests, "answered": counts.answered,
        "sources": [{"address": a, "count": n} for a, n in sources],
    } | node  # fmt: skip
    return Report(STATISTICS, f"stats:{day}:{prefix}", body)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _latency(name: str, counts: Sequence[PrefixCounts]) -> dict[str, float | None]:
    """`<name>MinMs`, `AvgMs`, `MaxMs` of what `counts` timed (None for nothing timed)."""
    timed = [c for c in counts if c.requests]
    if not timed:
        return {f"{name}MinMs": None, f"{name}AvgMs": None, f"{name}MaxMs": None}
    average = sum(c.seconds_sum for c in timed) / sum(c.requests for c in timed)
    return {
        f"{name}MinMs": _ms(min(c.seconds_min for c in timed)),
        f"{name}AvgMs": _ms(average),
        f"{name}MaxMs": _ms(max(c.seconds_max for c in timed)),
    }


def monitoring(
    day: str,
    counts: Sequence[PrefixCounts],
    peak: tuple[int | None, int],
    registrations: PrefixCounts,
    *,
    final: bool,
) -> Report:
    """The day's resolution latency (over every prefix) and peak, and the registrations' latency."""
    second, qps = peak
    at = None if second is None else datetime.fromtimestamp(second, UTC).isoformat()
    body = {"day": day, "final": final, "peakQps": qps, "peakAt": at, "registrations": registrations.requests}
    body |= _latency("latency", counts) | _latency("registrationLatency", [registrations])
    return Report(MONITORING, f"monitoring:{day}", body)


def event(
    event_id: str, *, at: float, reason: str, type: int, related: str | None = None, recovery: bool = False
) -> Report:
    body = {"id": event_id, "relatedEvent": related, "time": datetime.fromtimestamp(at, UTC).isoformat(),
            "reason": reason, "type": type, "recovery": recovery}  # fmt: skip
    return Report(EVENTS, f"event:{event_id}", body)


def batch(node_prefix: str, reports: Sequence[tuple[str, str, str]]) -> bytes:
    """The body of a POST of `(report id, kind, body JSON text)` reports."""
    parts = [b'{"id":%s,"kind":%s,"body":%s}' % (orjson.dumps(i), orjson.dumps(k), b.encode())
             for i, k, b in reports]  # fmt: skip
    return b'{"node":%s,"reports":[%s]}' % (orjson.dumps(node_prefix), b",".join(parts))


def parse_batch(raw: bytes) -> tuple[str, list[Incoming]]:
    """The node a POST says it comes from and its reports; `InvalidInput` saying what is wrong."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("node"), str):
        raise InvalidInput('the body is {"node": "<node prefix>", "reports": [...]}')
    reports = body.get("reports")
    if not isinstance(reports, list) or not 1 <= len(reports) <= MAX_BATCH:
        raise InvalidInput(f"reports is a list of 1 to {MAX_BATCH} reports")
    return body["node"], [_incoming(n, r) for n, r in enumerate(reports)]


def _incoming(n: int, report: object) -> Incoming:
    if not isinstance(report, dict):
        raise InvalidInput(f"reports[{n}] is not an object")
    rid, kind, body = report.get("id"), report.get("kind"), report.get("body")
    if not isinstance(rid, str) or not 1 <= len(rid) <= 320:
        raise InvalidInput(f"reports[{n}].id is a string of 1 to 320 characters")
    if kind not in KINDS:
        raise InvalidInput(f"reports[{n}].kind is one of {', '.join(KINDS)}")
    if not isinstance(body, dict):
        raise InvalidInput(f"reports[{n}].body is an object")
    return Incoming(str(kind), rid, orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode())
