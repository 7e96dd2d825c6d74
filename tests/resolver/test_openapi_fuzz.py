"""Schemathesis against the node's own OpenAPI document, every check on: no request, however odd, gets a
server error, every answer is one the document declares (status, media type, schema, `Allow` on a 405),
valid requests are taken and invalid ones refused (but where schemathesis.toml says why the node answers
otherwise)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ACME_SECRET
from tests.resolver.conftest import ACME_USER, RunningNode

CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_the_node_answers_as_its_openapi_document_says(node: RunningNode, tmp_path: Path) -> None:
    _fuzz(node, tmp_path, examples=15)


@pytest.mark.long
@pytest.mark.timeout(6000)
def test_ten_thousand_cases_find_nothing(node: RunningNode, tmp_path: Path) -> None:
    """The long run (`pytest -m long`): at least 10,000 generated cases, still no failure."""
    generated = _fuzz(node, tmp_path, examples=220, timeout=5400)
    assert generated >= 10_000, generated


def _fuzz(node: RunningNode, tmp_path: Path, *, examples: int, timeout: int = 600) -> int:
    """Run schemathesis with every check; the number of cases it generated (all of which passed)."""
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a test dependency"
    command = [
        schemathesis, "--config-file", str(CONFIG), "run", f"{node.url}/openapi.json",
        "--checks", "all",
        "--auth", f"{ACME_USER}:{ACME_SECRET}",
        "--max-examples", str(examples),
        "--workers", "1",  # hypothesis parses lambdas unsafely across threads
        "--generation-database", "none",
        "--suppress-health-check", "all",  # slow or filtered generation is not the node's failure
        "--no-color",
    ]  # fmt: skip

    run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)

    report = tmp_path / "schemathesis.out"
    report.write_text(run.stdout + run.stderr)
    assert run.returncode == 0, f"{_digest(run.stdout)}\n{run.stderr[-2000:]}\n(all of it: {report})"
    passed = re.search(r"\b(\d+) generated, \1 passed\b", run.stdout)
    assert passed, run.stdout[-2000:]
    assert "Traceback" not in (node.process.log.read_text() if node.process.log else "")
    return int(passed.group(1))


def _digest(output: str) -> str:
    """Each failure and the node's answer, without the (often huge) requests that found them."""
    kept = [line[:300] for line in output.splitlines() if _FAILURE_LINE.match(line)]
    summary = output.partition("\nFailures:")[2]
    return "\n".join(kept) + "\nFailures:" + summary[:1500]


# A failure's title, its check, what was expected and found, the node's status and body.
_FAILURE_LINE = re.compile(
    r"^(_{3,} .+ _{3,}|- ST\d+ .+|\[\d{3}\] .+|    `.+`"
    r"|    (Received|Documented|Expected|Invalid component): .+)$"
)
