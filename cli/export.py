"""`idnode export` (the records under a prefix as NDJSON, streamed) and `idnode stats`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click
from tqdm import tqdm

from sdk import NodeClient, Record

from .admin_client import AdminClient
from .connection import connection, connection_options

PAGE = 1_000


def record_line(record: Record) -> str:
    """A record as an NDJSON line `idnode import` reads back."""
    line: dict[str, object] = {"handle": record.handle}
    if record.template_version:
        line["templateVersion"] = record.template_version
    line["values"] = [
        {"index": v.index, "type": v.type, "data": {"format": v.format, "value": v.value}}
        for v in record
        if v.index != 1001
    ]
    return json.dumps(line, ensure_ascii=False)


def _chunks(names: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for name in names:
        chunk.append(name)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write(out: IO[str], client: NodeClient, prefix: str) -> int:
    written = 0
    with tqdm(total=client.count(prefix), unit="rec", desc="exporting", file=sys.stderr, disable=None) as bar:
        for names in _chunks(client.handles(prefix, page_size=PAGE), PAGE):
            for record in client.resolve_many(names):
                if record is not None:  # deleted since it was listed
                    out.write(record_line(record) + "\n")
                    written += 1
            bar.update(len(names))
    return written


@click.command()
@click.option("--prefix", required=True, help="The prefix whose records to export.")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="A file (default: standard output)."
)
@connection_options
def export(
    prefix: str, output: Path | None, node: str | None, user: str | None, secret: str | None, profile: str
) -> None:
    """Write every record under PREFIX as NDJSON, a line per record (what `idnode import` reads)."""
    with connection(node, user, secret, profile).client(timeout=120) as client:
        if output is None:
            written = _write(sys.stdout, client, prefix)
        else:
            with output.open("w", encoding="utf-8") as out:
                written = _write(out, client, prefix)
    click.echo(f"{written} records exported", err=True)


@click.command()
@connection_options
def stats(node: str | None, user: str | None, secret: str | None, profile: str) -> None:
    """Handles by prefix and by template (needs the node administrator)."""
    conn = connection(node, user, secret, profile)
    admin = AdminClient(conn.node, conn.user, conn.secret)
    try:
        counts = admin.call("GET", "/stats")
    finally:
        admin.close()
    click.echo(f"{'prefix':<16}{'handles':>10}  templates")
    for entry in counts["prefixes"]:
        templates = ", ".join(f"{version or '(none)'}: {n}" for version, n in entry["templates"].items())
        click.echo(f"{entry['prefix']:<16}{entry['handles']:>10}  {templates}")
    click.echo(f"{'total':<16}{counts['total']:>10}")
