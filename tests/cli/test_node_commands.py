"""The commands that go through the SDK to a running node: resolve, register, export and import back, stats,
templates, profiles, and their exit codes and one-line errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ACME_SECRET, ADMIN_SECRET
from tests.resolver.conftest import set_up_node
from tests.support import NodeProcess, cli

USER = "300:0.NA/88.999.1"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("node")
    env = {"IDNODE_DATABASE_URL": f"sqlite:///{folder}/idnode.db"}
    set_up_node(env)
    node = NodeProcess(env).start(folder)
    try:
        yield node, {"IDNODE_NODE": node.url, "IDNODE_USER": USER, "IDNODE_SECRET": ACME_SECRET}
    finally:
        node.stop()


@pytest.fixture
def env(running: tuple[NodeProcess, dict[str, str]]) -> dict[str, str]:
    return running[1]


def test_register_then_resolve_as_a_table_and_as_json(env: dict[str, str]) -> None:
    made = cli(
        ["register", "88.999.1/PART-1", "--value", "URL=https://mes.example.com/1", "--value", "batchNo=B7"],
        env,
    )
    table = cli(["resolve", "88.999.1/PART-1"], env)
    only = cli(["resolve", "88.999.1/PART-1", "--type", "batchNo", "--output", "json"], env)

    assert made.stdout.strip() == "88.999.1/PART-1: created"
    assert table.stdout.splitlines()[1].split() == ["index", "type", "value"]
    assert table.stdout.splitlines()[3].split() == ["2", "batchNo", "B7"]
    assert json.loads(only.stdout)["values"] == [
        {"index": 2, "type": "batchNo", "data": {"format": "string", "value": "B7"}}
    ]


def test_resolve_exit_codes(env: dict[str, str]) -> None:
    missing = cli(["resolve", "88.999.1/NOT-THERE"], env, check=False)
    unreachable = cli(
        ["resolve", "88.999.1/PART-1"], env | {"IDNODE_NODE": "http://127.0.0.1:1"}, check=False
    )
    usage = cli(["resolve"], env, check=False)

    assert (missing.returncode, missing.stderr.strip()) == (1, "88.999.1/NOT-THERE: not found")
    assert unreachable.returncode == 2
    assert unreachable.stderr.strip().startswith("idnode: cannot reach the node")
    assert usage.returncode == 2
    assert "Traceback" not in missing.stderr + unreachable.stderr + usage.stderr


def test_a_bad_value_is_a_usage_error(env: dict[str, str]) -> None:
    refused = cli(["register", "88.999.1/P-2", "--value", "no-equals-sign"], env, check=False)

    assert refused.returncode == 2
    assert "is not TYPE=VALUE" in refused.stderr


def test_export_writes_what_import_reads_back(env: dict[str, str], tmp_path: Path) -> None:
    for n in range(5):
        cli(["register", f"88.999.1/EXP-{n}", "--value", f"URL=https://x/{n}"], env)
    exported = tmp_path / "records.ndjson"
    cli(["export", "--prefix", "88.999.1", "--output", str(exported)], env)
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    moved = tmp_path / "moved.ndjson"
    moved.write_text(
        "".join(
            json.dumps(line | {"handle": line["handle"].replace("EXP", "COPY")}) + "\n"
            for line in lines
            if "EXP" in line["handle"]
        )
    )

    imported = cli(["import", str(moved)], env)

    assert {line["handle"] for line in lines} >= {f"88.999.1/EXP-{n}" for n in range(5)}
    assert imported.stdout.startswith("5 rows: 5 imported, 0 rejected")
    assert "https://x/3" in cli(["resolve", "88.999.1/COPY-3"], env).stdout


def test_import_rejects_lines_that_are_not_utf8_and_handles_the_node_refuses(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "mixed.ndjson"
    lines = [
        json.dumps({"handle": "88.999.1/UTF8-OK", "values": {"URL": "https://x/ok"}}).encode(),
        b'{"handle": "88.999.1/LATIN1-\xe9", "values": {"URL": "https://x/latin1"}}',
        json.dumps({"handle": "88.999.1/ZW\u200bSP", "values": {"URL": "https://x/zw"}}).encode(),
    ]
    source.write_bytes(b"\n".join(lines) + b"\n")

    imported = cli(["import", str(source)], env)

    assert imported.stdout.startswith("3 rows: 1 imported, 2 rejected")
    rejects = (tmp_path / "mixed.ndjson.rejects.csv").read_text(encoding="utf-8")
    reasons = {row[0]: row[1] for row in csv.reader(rejects.splitlines())}
    assert reasons["2"].startswith("not UTF-8")
    assert "U+200B" in reasons["3"]


def test_templates_through_the_node_from_yaml(env: dict[str, str], tmp_path: Path) -> None:
    body = {"version": "2.0", "industryCategory": "C", "items": [
        {"name": "批次", "idType": "batchNo", "idIndex": 2000, "required": True, "state": 1}]}  # fmt: skip
    source = tmp_path / "batch.yaml"
    source.write_text(yaml.safe_dump(body, allow_unicode=True))

    loaded = cli(["template", "load", str(source), "--prefix", "88.999.1"], env)
    shown = cli(["template", "show", "--prefix", "88.999.1", "--version", "2.0"], env)

    assert loaded.stdout.strip() == "template 2.0 of 88.999.1 loaded: 1 items"
    assert yaml.safe_load(shown.stdout)["items"][0]["idType"] == "batchNo"


def test_stats_count_by_prefix_and_template(env: dict[str, str]) -> None:
    shown = cli(["stats", "--user", "300:0.NA/88.999", "--secret", ADMIN_SECRET], env)

    assert shown.stdout.splitlines()[0].split() == ["prefix", "handles", "templates"]
    assert any(line.startswith("88.999.1") for line in shown.stdout.splitlines())


def test_a_profile_file_names_the_connection(
    running: tuple[NodeProcess, dict[str, str]], tmp_path: Path
) -> None:
    node, _ = running
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f'[acme]\nnode = "{node.url}"\nuser = "{USER}"\nsecret = "{ACME_SECRET}"\n')

    made = cli(
        ["register", "88.999.1/PROFILED", "--value", "URL=x", "--profile", "acme"],
        {"IDNODE_PROFILES": str(profiles)},
    )
    unknown = cli(
        ["resolve", "88.999.1/PROFILED", "--profile", "nope"], {"IDNODE_PROFILES": str(profiles)}, check=False
    )

    assert made.stdout.strip() == "88.999.1/PROFILED: created"
    assert unknown.returncode == 2
    assert "has no profile 'nope'" in unknown.stderr
