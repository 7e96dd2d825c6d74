"""`idnode trace`: the genealogy of an identifier (its links up toward origins, down toward products), through
the SDK."""

from __future__ import annotations

import json
import sys

import click

from sdk import NotFoundError, Trace

from .connection import connection, connection_options

NOT_FOUND = 1


def _table(found: Trace) -> str:
    shown = [
        (
            str(n.depth),
            n.handle,
            " ".join(f"{k}={v}" for k, v in n.values.items()) or ("-" if n.stored else "(not here)"),
        )
        for n in found.nodes
    ]
    head = ("depth", "handle", "values")
    widths = [max(len(row[n]) for row in [head, *shown]) for n in range(3)]
    lines = [f"{found.handle}: {found.direction}, at most {found.depth} links"]
    for row in [head, *shown]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    lines.append("links")
    lines += [f"  {e.source} --{e.type}--> {e.target}" for e in found.edges]
    if found.truncated:
        lines.append("(truncated: the node shows the nearest records only)")
    return "\n".join(lines)


def _json(found: Trace) -> str:
    body = {
        "handle": found.handle,
        "direction": found.direction,
        "depth": found.depth,
        "nodes": [
            {
                "handle": n.handle,
                "depth": n.depth,
                "values": dict(n.values),
                **({} if n.stored else {"stored": False}),
            }
            for n in found.nodes
        ],
        "edges": [{"from": e.source, "to": e.target, "type": e.type} for e in found.edges],
        "truncated": found.truncated,
    }
    return json.dumps(body, ensure_ascii=False)


@click.command()
@click.argument("handle")
@click.option(
    "--direction", type=click.Choice(["up", "down", "both"]), default="both", show_default=True,
    help="up toward the origins (what it was made from), down toward what was made from it.",
)  # fmt: skip
@click.option(
    "--depth", type=click.IntRange(1, 50), help="At most this many links away (the node's default: 10)."
)
@click.option(
    "--type", "types", multiple=True, help="Only links of this type (repeatable): madeFrom, LINK.partOf…"
)
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@connection_options
def trace(
    handle: str, direction: str, depth: int | None, types: tuple[str, ...], output: str, node: str | None,
    user: str | None, secret: str | None, profile: str,
) -> None:  # fmt: skip
    """Trace HANDLE's genealogy: as anyone may see it, or as --user may. Exit code 0: traced; 1: not found;
    2: usage or connection error."""
    conn = connection(node, user, secret, profile)
    with conn.client() as client:
        try:
            found = client.trace(
                handle, direction=direction, depth=depth, types=list(types),
                authenticated=bool(conn.user and conn.secret),
            )  # fmt: skip
        except NotFoundError:
            click.echo(f"{handle}: not found", err=True)
            sys.exit(NOT_FOUND)
    click.echo(_table(found) if output == "table" else _json(found))
