"""`idnode scan` against a running node: a label given as an argument or on stdin, as a table or JSON, and its
exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import ACME_SECRET
from tests.resolver.conftest import set_up_node
from tests.support import ROOT, NodeProcess, cli

USER = "300:0.NA/88.999.1"
LABEL = "[)>\x1e06\x1dP4711-0815-A\x1dQ120\x1d1JUN081466849000123457\x1dS88.999.1/SCAN-CLI-1\x1e\x04"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("node")
    settings = {"IDNODE_DATABASE_URL": f"sqlite:///{folder}/idnode.db"}
    set_up_node(settings)
    node = NodeProcess(settings).start(folder)
    try:
        yield {"IDNODE_NODE": node.url, "IDNODE_USER": USER, "IDNODE_SECRET": ACME_SECRET}
    finally:
        node.stop()


def test_a_label_on_stdin_shows_its_fields_keys_and_records(env: dict[str, str]) -> None:
    cli(["register", "88.999.1/SCAN-CLI-1", "--value", "batchNo=B7"], env)

    shown = subprocess.run(
        [sys.executable, "-m", "cli", "scan", "-"],
        input=LABEL + "\n",
        env={**os.environ, **env},
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.splitlines()

    assert shown[0] == "kind: iso15434"
    assert shown[2].split() == ["di", "P", "part", "number", "(customer)", "4711-0815-A"]
    assert "licensePlate  UN081466849000123457" in [line.strip() for line in shown]
    assert "88.999.1/SCAN-CLI-1" in shown
    assert ["1", "batchNo", "B7"] in [line.split() for line in shown]


def test_json_output_and_exit_codes(env: dict[str, str]) -> None:
    as_json = json.loads(cli(["scan", "(01)09506000134352(10)LOT-7", "--output", "json"], env).stdout)
    missing = cli(["scan", "88.999.1/NOT-THERE"], env, check=False)
    broken = cli(["scan", "(01)09506000134353"], env, check=False)

    assert as_json["kind"] == "gs1"
    assert as_json["keys"] == {"gtin": "09506000134352", "lot": "LOT-7"}
    assert as_json["records"] == []
    assert "alternate keys" in as_json["note"]
    assert (missing.returncode, missing.stdout.splitlines()[-1]) == (1, "88.999.1/NOT-THERE: not found")
    assert broken.returncode == 2
    assert broken.stderr.startswith("idnode: check digit wrong in AI (01) GTIN")
    assert "Traceback" not in missing.stderr + broken.stderr
