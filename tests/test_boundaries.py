"""The package boundaries of ARCHITECTURE.md, kept true: who may import whom.

- registry imports neither resolver, sdk nor cli, and loads no web framework, ASGI server or Redis client;
- sdk imports nothing of ours;
- cli reaches registry and resolver only through cli/local.py, where it sets up, migrates, starts or
  administers the node in process; every other command goes through sdk;
- the resolver imports neither the cli nor the sdk — except the native Handle protocol's codec,
  `sdk.native`'s pure modules (no I/O, no dependencies), which the server and the SDK's client share: the
  sdk may import nothing of ours, so the one codec lives there rather than twice;
- front ends run no SQL.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

OURS = {"registry", "resolver", "sdk", "cli", "benchmarks", "tests"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The absolute names of the modules `path` imports (relative imports resolved)."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            found.add(".".join([*base, *([node.module] if node.module else [])]))
    return found


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize(("package", "allowed"), [("registry", {"registry"}), ("sdk", {"sdk"})])
def test_a_package_imports_only_itself_of_ours(package: str, allowed: set[str]) -> None:
    crossing = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources(package)
        for name in _imports(path)
        if _top(name) in OURS - allowed
    }

    assert not crossing


def test_the_registry_loads_no_web_framework_server_or_redis_client() -> None:
    modules = [_module_name(path) for path in _sources("registry") if "migrations" not in path.parts]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'fastapi', 'starlette', 'granian', 'redis'}))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert loaded.stdout.strip() == "[]"


def test_the_cli_reaches_the_node_only_through_its_local_module() -> None:
    reaching = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources("cli")
        for name in _imports(path)
        if _top(name) in {"registry", "resolver"} and path.name != "local.py"
    }

    assert not reaching
    assert not any(_top(name) == "registry" for name in _imports(ROOT / "cli" / "local.py"))


# The codec's modules: bytes in, bytes out. The client (sdk.native.client) is not among them.
SHARED_CODEC = frozenset(
    f"sdk.native.{name}"
    for name in (
        "codes",
        "wire",
        "message",
        "values",
        "bodies",
        "udp",
        "credential",
        "auth",
        "session",
        "caict",
    )
)


def test_the_resolver_imports_neither_the_cli_nor_the_sdk_but_the_native_codec() -> None:
    crossing = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources("resolver")
        for name in _imports(path)
        if _top(name) in {"cli", "sdk", "benchmarks", "tests"} and name not in SHARED_CODEC | {"sdk.native"}
    }

    assert not crossing


def test_the_shared_codec_does_no_io() -> None:
    io = {"asyncio", "socket", "httpx", "ssl", "selectors"}
    doing = {
        f"{module} imports {name}"
        for module in SHARED_CODEC
        for name in _imports(ROOT / (module.replace(".", "/") + ".py"))
        if _top(name) in io or (_top(name) == "sdk" and name not in SHARED_CODEC | {"sdk.native"})
    }

    assert not doing


def test_front_ends_run_no_sql() -> None:
    sql = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources("resolver/frontends")
        for name in _imports(path)
        if (_top(name) == "sqlalchemy" and name != "sqlalchemy.exc")
        or _top(name) in {"asyncpg", "sqlite3"}
        or name.startswith("registry.store")
    }

    assert not sql
