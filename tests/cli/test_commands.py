"""The `idnode` command as an operator uses it: set-up commands and their errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support import NodeProcess, cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"IDNODE_DATABASE_URL": f"sqlite:///{tmp_path}/idnode.db"}


def test_init_prints_a_generated_secret_once_and_is_safe_to_repeat(env: dict[str, str]) -> None:
    first = cli(["init", "--node-prefix", "88.999"], env)
    again = cli(["init", "--node-prefix", "88.999"], env)

    assert "node 88.999 initialised" in first.stdout
    assert "secret:" in first.stdout
    assert "already initialised" in again.stdout
    assert "secret" not in again.stdout


def test_init_for_another_prefix_on_the_same_database_fails_in_one_line(env: dict[str, str]) -> None:
    cli(["init", "--node-prefix", "88.999", "--admin-secret", "s"], env)

    refused = cli(["init", "--node-prefix", "88.118"], env, check=False)

    assert refused.returncode == 2
    assert refused.stderr.strip() == "idnode: this database belongs to node 88.999, not 88.118"


def test_enterprise_add_then_list(env: dict[str, str]) -> None:
    cli(["init", "--node-prefix", "88.999", "--admin-secret", "s"], env)
    added = cli(
        [
            "enterprise",
            "add",
            "--prefix",
            "88.999.8",
            "--name",
            "鄂州冶金",
            "--credit-code",
            "91350100M000100Y43",
        ],
        env,
    )

    listed = cli(["enterprise", "list"], env)

    assert "administrator: 300:0.NA/88.999.8" in added.stdout
    assert "secret:" in added.stdout
    assert "91350100M000100Y43\t88.999.8\tactive\t鄂州冶金" in listed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefix", "88.999.8", "--credit-code", "91350100M000100Y44"], "check character"),
        (["--prefix", "88.118.8", "--credit-code", "91350100M000100Y43"], "allocated under 88.999"),
        (["--prefix", "88.999.8", "--credit-code", "123"], "18 characters"),
    ],
)
def test_enterprise_add_errors_are_one_clear_line(env: dict[str, str], args: list[str], message: str) -> None:
    cli(["init", "--node-prefix", "88.999", "--admin-secret", "s"], env)

    refused = cli(["enterprise", "add", "--name", "X", "--secret", "s", *args], env, check=False)

    assert refused.returncode == 2
    assert message in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_serve_on_an_empty_database_says_to_run_init(env: dict[str, str]) -> None:
    refused = cli(["serve", "--port", "1"], env, check=False)

    assert refused.returncode == 2
    assert "idnode init" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_an_unsupported_database_url_is_named(tmp_path: Path) -> None:
    refused = cli(["init", "--node-prefix", "88.999"], {"IDNODE_DATABASE_URL": "mysql://x@y/z"}, check=False)

    assert refused.returncode == 2
    assert "unsupported database URL scheme 'mysql'" in refused.stderr


def test_every_command_has_help(env: dict[str, str]) -> None:
    for args in (["--help"], ["init", "--help"], ["enterprise", "add", "--help"], ["serve", "--help"]):
        shown = cli(args, env)
        assert "Usage: " in shown.stdout


def test_a_shipped_template_loads_once_and_lists(env: dict[str, str]) -> None:
    cli(["init", "--node-prefix", "88.999", "--admin-secret", "s"], env)
    cli(
        [
            "enterprise",
            "add",
            "--prefix",
            "88.999.8",
            "--name",
            "鄂州冶金",
            "--credit-code",
            "91350100M000100Y43",
        ],
        env,
    )

    loaded = cli(["template", "load", "steel-coil", "--prefix", "88.999.8"], env)
    again = cli(["template", "load", "steel-coil", "--prefix", "88.999.8"], env, check=False)
    listed = cli(["template", "list", "--prefix", "88.999.8"], env)

    assert loaded.stdout.strip() == "template 1.0 of 88.999.8 loaded: 8 items"
    assert again.returncode == 2
    assert "模板已存在" in again.stderr
    assert "2000:heatNo*" in listed.stdout


def test_enterprises_are_managed_through_a_running_node(env: dict[str, str], tmp_path: Path) -> None:
    cli(["init", "--node-prefix", "88.999", "--admin-secret", "node-secret"], env)
    node = NodeProcess(env).start(tmp_path)
    try:
        remote = ["--node", node.url, "--admin", "300:0.NA/88.999", "--admin-secret", "node-secret"]
        added = cli(
            ["enterprise", "add", "--name", "十堰车桥", "--credit-code", "91420700MA4K8XQ3T3", *remote], env
        )
        listed = cli(["enterprise", "list", *remote], env)
        refused = cli(["enterprise", "list", "--node", node.url, "--admin", "300:0.NA/88.999",
                       "--admin-secret", "wrong"], env, check=False)  # fmt: skip
    finally:
        node.stop()

    assert "owns 88.999.1" in added.stdout  # the next free prefix
    assert "secret:" in added.stdout
    assert "91420700MA4K8XQ3T3\t88.999.1\tactive\t十堰车桥" in listed.stdout
    assert refused.returncode != 0
    assert len(refused.stderr.strip().splitlines()) == 1


def test_a_case_sensitive_node_keeps_case_variants_apart_and_wont_start_against_its_rule(
    env: dict[str, str], tmp_path: Path
) -> None:
    sensitive = env | {"IDNODE_CASE_SENSITIVE": "yes"}
    cli(["init", "--node-prefix", "88.999", "--admin-secret", "s"], sensitive)
    cli(["enterprise", "add", "--prefix", "88.999.1", "--name", "Acme", "--credit-code", "91420700MA4K8XQ3T3",
         "--secret", "acme"], sensitive)  # fmt: skip

    refused = cli(["serve", "--port", "1"], env, check=False)
    bad_value = cli(["serve", "--port", "1"], env | {"IDNODE_CASE_SENSITIVE": "perhaps"}, check=False)
    node = NodeProcess(sensitive).start(tmp_path)
    try:
        auth = ("300%3A0.NA/88.999.1", "acme")
        body = [{"index": 1, "type": "URL", "data": "https://x"}]
        upper = httpx.put(f"{node.url}/api/handles/88.999.1/PART-1", json=body, auth=auth)
        lower = httpx.put(
            f"{node.url}/api/handles/88.999.1/part-1", json=body, auth=auth, params={"overwrite": "false"}
        )
    finally:
        node.stop()

    assert refused.returncode == 2
    assert "IDNODE_CASE_SENSITIVE=yes" in refused.stderr
    assert bad_value.returncode == 2
    assert "IDNODE_CASE_SENSITIVE" in bad_value.stderr
    assert (upper.status_code, lower.status_code) == (201, 201)  # two records
