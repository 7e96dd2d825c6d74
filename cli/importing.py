"""`idnode import FILE`: register a CSV or NDJSON export through the SDK, in batches, resumably.

The file is read a line at a time (constant memory for any size; a record per line). A CSV's header is
`handle` and then value types (`heatNo,grade,…`); an NDJSON line is `{"handle": …, "values": {type: text} or
[values], "templateVersion": …}`. Rows the node refuses, or that cannot be read, go to the rejects file with
the reason. After each batch the position is saved beside the file; an interrupted import started again goes
on from there, and the batch under way is sent again: its records that had reached the node count as done,
not twice.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from sdk import HandleValue, NodeClient

from .connection import connection, connection_options

INTERRUPTED = 130


@dataclass
class Position:
    """Where an import stands: bytes of the file done, rows done, and the rejects file's size then."""

    size: int
    mtime: float
    offset: int = 0
    rows: int = 0
    imported: int = 0
    rejected: int = 0
    rejects_size: int = 0

    @classmethod
    def load(cls, path: Path, source: Path) -> Position | None:
        try:
            saved = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        stat = source.stat()
        return saved if (saved.size, saved.mtime) == (stat.st_size, stat.st_mtime) else None

    def save(self, path: Path) -> None:
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(asdict(self)))
        os.replace(partial, path)  # a crash leaves the old position or the new one, never half of one


@dataclass
class Row:
    number: int
    line: str
    handle: str = ""
    values: Any = None
    template: str | None = None
    problem: str = ""


class Rejects:
    """The rejects file: CSV of row number, reason and the original line; kept to what is saved."""

    def __init__(self, path: Path, keep: int) -> None:
        fresh = keep == 0
        self._file = path.open("r+" if path.exists() and not fresh else "w", encoding="utf-8", newline="")
        self._file.truncate(keep)
        self._file.seek(keep)
        self._writer = csv.writer(self._file)
        if fresh:
            self._writer.writerow(["row", "reason", "line"])

    def add(self, row: Row, reason: str) -> None:
        self._writer.writerow([row.number, reason, row.line])

    def sync(self) -> int:
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def close(self) -> None:
        self._file.close()


def _csv_row(number: int, line: str, header: list[str], template: str | None) -> Row:
    fields = next(csv.reader(io.StringIO(line)))
    row = Row(number, line, template=template)
    if len(fields) != len(header):
        row.problem = f"{len(fields)} fields where the header has {len(header)}"
    elif not fields[0].strip() or "/" not in fields[0]:
        row.problem = "no handle in the first field"
    else:
        row.handle = fields[0].strip()
        row.values = {kind: text for kind, text in zip(header[1:], fields[1:], strict=True) if text != ""}
    return row


def _ndjson_row(number: int, line: str, template: str | None) -> Row:
    row = Row(number, line, template=template)
    try:
        item = json.loads(line)
        row.handle = item["handle"]
        values = item.get("values", {})
        row.template = item.get("templateVersion") or template
    except (ValueError, KeyError, TypeError) as exc:
        row.problem = f"not a record: {exc}"
        return row
    if isinstance(values, list):
        try:
            values = [HandleValue.from_json(v) for v in values if v.get("index") != 1001]
        except (KeyError, TypeError, AttributeError) as exc:
            row.problem = f"bad values: {exc}"
    row.values = values
    return row


def _rows(source: Path, start: int, first_row: int, template: str | None) -> Iterator[tuple[Row, int]]:
    """Rows from byte `start` on, each with the byte offset just after it."""
    is_csv = source.suffix.lower() == ".csv"
    with source.open("rb") as raw:
        header = next(csv.reader([raw.readline().decode("utf-8-sig").strip()])) if is_csv else []
        if is_csv and (not header or header[0].strip().lower() != "handle"):
            raise click.UsageError(f"{source}: the first column of the header must be 'handle'")
        offset = max(start, raw.tell())
        raw.seek(offset)
        number = first_row
        for data in raw:
            offset += len(data)
            text, problem = _decoded(data)
            if not text.strip():
                continue
            number += 1
            if problem:  # as the node refuses it: a handle, like any text, is UTF-8 or nothing
                yield Row(number, text, problem=problem), offset
                continue
            yield (
                (_csv_row(number, text, header, template) if is_csv else _ndjson_row(number, text, template)),
                offset,
            )


def _decoded(data: bytes) -> tuple[str, str]:
    """A line as text, and why it cannot be read when it is not UTF-8 (the text then shows where)."""
    try:
        return data.decode("utf-8").rstrip("\r\n"), ""
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace").rstrip("\r\n")
        return text, f"not UTF-8 (byte {exc.start + 1} of the line)"


def _send(client: NodeClient, rows: list[Row], rejects: Rejects) -> tuple[int, int]:
    """Register the readable rows (a call per template version), reject the rest: (imported, rejected)."""
    for row in rows:
        if row.problem:
            rejects.add(row, row.problem)
    good = [row for row in rows if not row.problem]
    imported = 0
    for template in dict.fromkeys(row.template for row in good):
        group = [row for row in good if row.template == template]
        records = [(row.handle, row.values) for row in group]
        results = client.register_many(records, chunk_size=len(group), template_version=template)
        for row, result in zip(group, results, strict=True):
            if result.ok:
                imported += 1
            else:
                rejects.add(row, result.message or result.status)
    return imported, len(rows) - imported


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--template", "template_version", help="The data template version the rows follow.")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Default: FILE.rejects.csv",
)
@click.option(
    "--batch", default=1_000, show_default=True, type=click.IntRange(1, 2_000), help="Records a call."
)
@click.option(
    "--restart", is_flag=True, help="Start from the first row, not from where an earlier run stopped."
)
@connection_options
def import_command(
    file: Path, template_version: str | None, rejects_path: Path | None, batch: int, restart: bool,
    node: str | None, user: str | None, secret: str | None, profile: str,
) -> None:  # fmt: skip
    """Register the records of FILE (CSV: handle,type,type,…; or NDJSON), in batches, with a progress bar."""
    state_path = file.with_name(file.name + ".import-state")
    rejects_path = rejects_path or file.with_name(file.name + ".rejects.csv")
    stat = file.stat()
    position = (None if restart else Position.load(state_path, file)) or Position(stat.st_size, stat.st_mtime)
    if position.rows:
        click.echo(f"resuming {file} after row {position.rows}", err=True)
    rejects = Rejects(rejects_path, position.rejects_size)
    started, first = time.monotonic(), position.rows
    bar = tqdm(
        total=stat.st_size,
        initial=position.offset,
        unit="B",
        unit_scale=True,
        desc="importing",
        file=sys.stderr,
        disable=None,
    )
    try:
        with connection(node, user, secret, profile).client(timeout=120) as client:
            _run(client, file, position, state_path, rejects, template_version, batch, bar, started)
    except KeyboardInterrupt:
        bar.close()
        click.echo(f"\ninterrupted after row {position.rows}; run the same command again to resume", err=True)
        sys.exit(INTERRUPTED)
    finally:
        bar.close()
        rejects.close()
    state_path.unlink(missing_ok=True)
    rate = (position.rows - first) / max(time.monotonic() - started, 1e-9)
    click.echo(
        f"{position.rows} rows: {position.imported} imported, {position.rejected} rejected"
        f"{f' (see {rejects_path})' if position.rejected else ''}; {rate:,.0f} rows/s"
    )


def _run(
    client: NodeClient, file: Path, position: Position, state_path: Path, rejects: Rejects,
    template: str | None, batch: int, bar: Any, started: float,
) -> None:  # fmt: skip
    pending: list[Row] = []
    done_at = position.offset
    for row, offset in _rows(file, position.offset, position.rows, template):
        pending.append(row)
        done_at = offset
        if len(pending) == batch:
            _commit(client, pending, done_at, position, state_path, rejects, bar, started)
            pending = []
    if pending:
        _commit(client, pending, done_at, position, state_path, rejects, bar, started)


def _commit(
    client: NodeClient, rows: list[Row], offset: int, position: Position, state_path: Path, rejects: Rejects,
    bar: Any, started: float,
) -> None:  # fmt: skip
    imported, rejected = _send(client, rows, rejects)
    position.rejects_size = rejects.sync()
    bar.update(offset - position.offset)
    position.offset, position.rows = offset, position.rows + len(rows)
    position.imported += imported
    position.rejected += rejected
    position.save(state_path)
    bar.set_postfix_str(
        f"{position.rows:,} rows, {position.rows / max(time.monotonic() - started, 1e-9):,.0f}/s"
    )
