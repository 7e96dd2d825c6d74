"""`idnode import` against a running node: 100,000 steel coils from an MES export with 1% broken rows,
interrupted at half and resumed; the node ends with exactly the good rows, once each (SQLite, PostgreSQL)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdk import NodeClient
from tests.conftest import ACME_SECRET
from tests.resolver.conftest import set_up_node
from tests.support import ROOT, NodeProcess, cli, create_database, drop_database

ROWS = 100_000
USER = "300:0.NA/88.999.1"


@pytest.fixture(params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeProcess]:
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/idnode.db"
    else:
        name, url = create_database()
    env = {"IDNODE_DATABASE_URL": url}
    set_up_node(env)
    cli(["template", "load", "steel-coil", "--prefix", "88.999.1"], env)
    process = NodeProcess(env).start(tmp_path)
    try:
        yield process
    finally:
        process.stop()
        if name:
            drop_database(name)


def run_import(node: NodeProcess, csv_file: Path) -> subprocess.Popen[str]:
    env = os.environ | {"IDNODE_NODE": node.url, "IDNODE_USER": USER, "IDNODE_SECRET": ACME_SECRET}
    # SIGINT as a terminal delivers it, whatever the test run inherited: a run started in the background
    # by a shell ignores SIGINT, and a Python started ignoring it never raises KeyboardInterrupt.
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "import", str(csv_file), "--template", "1.0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_default_sigint,
    )  # fmt: skip


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def rows_done(state: Path) -> int:
    try:
        return int(json.loads(state.read_text())["rows"])
    except (OSError, ValueError, KeyError):
        return 0


def test_an_interrupted_import_resumes_and_holds_every_good_row_once(
    node: NodeProcess, tmp_path: Path
) -> None:
    coils = tmp_path / "coils.csv"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.coils_csv", "--rows", str(ROWS), "--output", str(coils)],
        cwd=ROOT,
        check=True,
    )
    state = tmp_path / "coils.csv.import-state"

    first = run_import(node, coils)
    while rows_done(state) < ROWS // 2 and first.poll() is None:
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    _, interrupted = first.communicate(timeout=60)
    half = rows_done(state)
    second = run_import(node, coils)
    summary, errors = second.communicate(timeout=600)

    assert first.returncode == 130, interrupted
    assert "run the same command again to resume" in interrupted
    assert ROWS // 2 <= half < ROWS
    assert second.returncode == 0, errors
    assert f"resuming {coils} after row {half}" in errors
    assert summary.startswith(f"{ROWS} rows: {ROWS - ROWS // 100} imported, {ROWS // 100} rejected")
    with (tmp_path / "coils.csv.rejects.csv").open(newline="") as rejects:
        rejected = [int(row["row"]) for row in csv.DictReader(rejects)]
    assert sorted(rejected) == list(range(100, ROWS + 1, 100))  # each broken row once, nothing else
    with NodeClient(node.url, username=USER, secret=ACME_SECRET) as client:
        assert client.count("88.999.1") == ROWS - ROWS // 100  # every good row, none twice
        sample = client.resolve("88.999.1/COIL-000054321")
    assert sample is not None
    assert sample.get("coilNo") == "C000054321"
    assert not state.exists()
