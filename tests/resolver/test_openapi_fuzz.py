"""Schemathesis against the node's own OpenAPI document: no request, however odd, gets a server error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ACME_SECRET
from tests.resolver.conftest import ACME_USER, RunningNode


def test_no_generated_request_gets_a_server_error(node: RunningNode, tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a test dependency"
    command = [
        schemathesis, "run", f"{node.url}/openapi.json",
        "--checks", "not_a_server_error",
        "--auth", f"{ACME_USER}:{ACME_SECRET}",
        "--max-examples", "40",
        "--workers", "1",  # hypothesis parses lambdas unsafely across threads
        "--generation-database", "none",
        "--suppress-health-check", "all",  # only server errors matter here, not data generation
        "--no-color",
    ]  # fmt: skip

    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Traceback" not in (node.process.log.read_text() if node.process.log else "")
