"""`idnode resolve` and `idnode register`: one identifier at a time, through the SDK (`resolve --native`: its
native Handle protocol client)."""

from __future__ import annotations

import json
import sys

import click

from sdk import HandleValue, NotFoundError, Record
from sdk.native.client import NativeClient

from .connection import connection, connection_options

NOT_FOUND = 1


def _table(record: Record) -> str:
    rows = [
        (str(v.index), v.type, v.text if v.text is not None else json.dumps(v.value, ensure_ascii=False))
        for v in record
    ]
    widths = [max(len(row[n]) for row in [("index", "type", "value"), *rows]) for n in range(3)]
    lines = [f"{record.handle}"]
    for row in [("index", "type", "value"), *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _json(record: Record) -> str:
    values = [
        {"index": v.index, "type": v.type, "data": {"format": v.format, "value": v.value}} for v in record
    ]
    return json.dumps({"handle": record.handle, "values": values}, ensure_ascii=False)


def _host_port(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, int] | None:
    """HOST:PORT (an IPv6 address in brackets: [::1]:2641)."""
    if value is None:
        return None
    host, colon, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:2641)", ctx, param)
    return host, int(port)


def _resolve_native(
    server: tuple[str, int], tcp: bool, handle: str, types: tuple[str, ...], indexes: tuple[int, ...]
) -> Record | None:
    with NativeClient(*server, transport="tcp" if tcp else "udp") as client:
        try:
            return client.resolve(handle, types=types, indexes=indexes)
        except NotFoundError:
            return None


@click.command()
@click.argument("handle")
@click.option(
    "--type", "types", multiple=True, help="Only values of this type (repeatable; 'URL.' for subtypes)."
)
@click.option(
    "--index", "indexes", type=int, multiple=True, help="Only the value at this index (repeatable)."
)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--signed", is_flag=True, help="Ask for the node's signature and check it (fails if bad).")
@click.option(
    "--node-prefix", envvar="IDNODE_NODE_PREFIX", help="With --signed: the node to trust, e.g. 88.118."
)  # fmt: skip
@click.option(
    "--native", metavar="HOST:PORT", callback=_host_port,
    help="Ask the Handle server at HOST:PORT over the native Handle protocol (UDP; TCP for long answers).",
)  # fmt: skip
@click.option("--tcp", is_flag=True, help="With --native: over TCP only.")
@connection_options
def resolve(
    handle: str, types: tuple[str, ...], indexes: tuple[int, ...], output: str, signed: bool,
    node_prefix: str | None, native: tuple[str, int] | None, tcp: bool, node: str | None, user: str | None,
    secret: str | None, profile: str,
) -> None:  # fmt: skip
    """Resolve HANDLE. Exit code 0: found; 1: not found; 2: usage or connection error (or a bad signature)."""
    if signed and not node_prefix:
        raise click.UsageError("--signed needs --node-prefix (or IDNODE_NODE_PREFIX): the node to trust")
    if native is None and tcp:
        raise click.UsageError("--tcp goes with --native HOST:PORT")
    if native is not None:
        if signed:
            raise click.UsageError("--signed is for HTTP: the native client does not check signatures yet")
        record = _resolve_native(native, tcp, handle, types, indexes)
    else:
        with connection(node, user, secret, profile).client(node_prefix=node_prefix) as client:
            record = client.resolve(handle, types=list(types), indexes=list(indexes), signed=signed)
    if record is None:
        click.echo(f"{handle}: not found", err=True)
        sys.exit(NOT_FOUND)
    click.echo(_table(record) if output == "table" else _json(record))


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for item in values:
        kind, equals, text = item.partition("=")
        if not equals or not kind:
            raise click.BadParameter(f"{item!r} is not TYPE=VALUE", param_hint="--value")
        pairs[kind] = text
    return pairs


@click.command()
@click.argument("handle")
@click.option("--value", "values", multiple=True, required=True, help="TYPE=VALUE (repeatable).")
@click.option("--template", "template_version", help="The data template version the values follow.")
@click.option(
    "--index", "indexes", multiple=True, type=int, help="Indexes for the values, in order (no template)."
)
@connection_options
def register(
    handle: str, values: tuple[str, ...], template_version: str | None, indexes: tuple[int, ...],
    node: str | None, user: str | None, secret: str | None, profile: str,
) -> None:  # fmt: skip
    """Register HANDLE with --value TYPE=VALUE … (indexes from the --template, else --index or 1, 2, …)."""
    pairs = _pairs(values)
    given: dict[str, str] | list[HandleValue] = pairs
    if indexes:
        if len(indexes) != len(pairs):
            raise click.BadParameter("give one --index per --value", param_hint="--index")
        given = [HandleValue(i, t, v) for i, (t, v) in zip(indexes, pairs.items(), strict=True)]
    with connection(node, user, secret, profile).client() as client:
        result = client.register(handle, given, template_version=template_version)
    click.echo(f"{result.handle}: {result.status}")
