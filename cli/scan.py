"""`idnode scan`: a scanned label as the node understands it, and the records it leads to (via the SDK)."""

from __future__ import annotations

import json
import sys

import click

from sdk import ScanResult

from .connection import connection, connection_options
from .resolve import NOT_FOUND, _json, _table


def _columns(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _as_table(result: ScanResult) -> str:
    lines = [f"kind: {result.kind}"]
    if result.fields:
        lines.append("fields:")
        lines += _columns([(f.scheme, f.code, f.name, f.value) for f in result.fields])
    if result.keys:
        lines.append("keys:")
        lines += _columns(list(result.keys.items()))
    for handle, record in zip(result.handles, result.records, strict=True):
        lines.append(_table(record) if record is not None else f"{handle}: not found")
    if result.note:
        lines.append(f"note: {result.note}")
    return "\n".join(lines)


def _as_json(result: ScanResult) -> str:
    body = {
        "kind": result.kind,
        "fields": [{f.scheme: f.code, "name": f.name, "value": f.value} for f in result.fields],
        "keys": dict(result.keys),
        "handles": list(result.handles),
        "records": [json.loads(_json(r)) if r is not None else None for r in result.records],
    }
    if result.note:
        body["note"] = result.note
    return json.dumps(body, ensure_ascii=False)


@click.command()
@click.argument("text")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@connection_options
def scan(
    text: str, output: str, node: str | None, user: str | None, secret: str | None, profile: str
) -> None:
    """Understand TEXT as a scanned label (`-`: read from stdin, control characters and all) — an ISO/IEC
    15434 message, a GS1 element string or Digital Link URI, a node's URL or a handle — and show its fields,
    keys and the records it leads to. Exit code 0: understood; 1: a handle it names is not found; 2: not
    understood, usage or connection error."""
    if text == "-":
        text = sys.stdin.read()
    with connection(node, user, secret, profile).client() as client:
        result = client.scan(text)
    click.echo(_as_table(result) if output == "table" else _as_json(result))
    if any(record is None for record in result.records):
        sys.exit(NOT_FOUND)
