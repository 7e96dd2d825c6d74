"""The SDK's public surface: its names, and the light footprint integrators rely on."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sdk

SDK = Path(sdk.__file__).parent


def test_every_public_name_is_exported_and_documented() -> None:
    for name in sdk.__all__:
        assert getattr(sdk, name).__doc__, f"{name} has no docstring"
    assert {"NodeClient", "AsyncNodeClient", "Record", "HandleValue", "BatchResult", "SdkError"} <= set(
        sdk.__all__
    )


def test_every_error_derives_from_sdk_error() -> None:
    errors = [getattr(sdk, name) for name in sdk.__all__ if name.endswith(("Error", "Unavailable"))]
    assert all(issubclass(error, sdk.SdkError) for error in errors)


def test_importing_the_sdk_loads_no_server_code() -> None:
    probe = "import sys, sdk, sdk.testing; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.split()
    )

    assert not loaded & {
        "fastapi",
        "sqlalchemy",
        "redis",
        "registry",
        "resolver",
        "cli",
        "granian",
        "asyncpg",
    }


def test_the_sdk_imports_nothing_of_the_node() -> None:
    for source in SDK.rglob("*.py"):
        tree = ast.parse(source.read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        }
        assert not imported & {"registry", "resolver", "cli"}, source


def test_the_package_is_typed() -> None:
    assert (SDK / "py.typed").exists()
