"""A node's role and a top-level node's secondary nodes, as an operator sets them up with `idnode`."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support import NodeProcess, cli

SITE = {"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": {"servers": []}}}


def _env(folder: Path, name: str) -> dict[str, str]:
    return {"IDNODE_DATABASE_URL": f"sqlite:///{folder}/{name}.db"}


def _home(node: NodeProcess, secret: str) -> httpx.Response:
    return httpx.put(
        f"{node.url}/api/handles/0.NA/88.901?index=1",
        json={"values": [SITE]},
        auth=("300%3A0.NA/88.901", secret),
    )


def test_a_top_level_node_allocates_lists_and_disables_node_prefixes(tmp_path: Path) -> None:
    env = _env(tmp_path, "top")
    cli(["init", "--node-prefix", "88", "--role", "top-level", "--admin-secret", "top-admin"], env)
    added = cli(["node", "add", "--prefix", "88.901", "--name", "鄂州"], env).stdout
    secret = added.split("secret:")[1].split()[0]
    node = NodeProcess(env).start(tmp_path)
    try:
        assert _home(node, secret).status_code == 201  # the secondary node may home its site there
        assert "88.901\tactive\t鄂州" in cli(["node", "list"], env).stdout

        assert cli(["node", "disable", "88.901"], env).stdout.strip() == "node 88.901 disabled"

        assert "88.901\tdisabled\t鄂州" in cli(["node", "list"], env).stdout
        assert _home(node, secret).status_code == 401  # its secret is gone
        values = httpx.get(f"{node.url}/api/handles/0.NA/88.901").json()["values"]
        assert "HS_SITE" not in [v["type"] for v in values]  # nobody is routed to it
    finally:
        node.stop()


def test_node_prefixes_are_allocated_by_a_top_level_node_under_its_own(tmp_path: Path) -> None:
    top, secondary = _env(tmp_path, "top"), _env(tmp_path, "secondary")
    cli(["init", "--node-prefix", "88", "--role", "top-level"], top)
    cli(["init", "--node-prefix", "88.902"], secondary)

    outside = cli(["node", "add", "--prefix", "86.1", "--name", "X", "--secret", "s"], top, check=False)
    at_secondary = cli(
        ["node", "add", "--prefix", "88.902.1", "--name", "X", "--secret", "s"], secondary, check=False
    )

    assert outside.returncode != 0
    assert "node prefixes are allocated under 88, not 86.1" in outside.stderr
    assert at_secondary.returncode != 0
    assert "only a top-level node allocates node prefixes" in at_secondary.stderr


def test_a_role_is_fixed_once_set_and_a_parent_can_be_changed(tmp_path: Path) -> None:
    env = _env(tmp_path, "node")
    cli(["init", "--node-prefix", "88.901", "--parent", "http://top:8000", "--parent-secret", "s1"], env)

    again = cli(["init", "--node-prefix", "88.901", "--role", "top-level"], env, check=False)
    moved = cli(
        ["init", "--node-prefix", "88.901", "--parent", "http://top2:8000", "--parent-secret", "s2"], env
    )
    half = cli(["init", "--node-prefix", "88.901", "--parent", "http://top3:8000"], env, check=False)
    bad = cli(
        ["init", "--node-prefix", "88.901", "--parent", "top:8000", "--parent-secret", "s"], env, check=False
    )

    assert again.returncode != 0
    assert "this node's role is secondary" in again.stderr
    assert moved.returncode == 0
    assert half.returncode != 0
    assert "--parent and --parent-secret go together" in half.stderr
    assert bad.returncode != 0
    assert "must start with http:// or https://" in bad.stderr
