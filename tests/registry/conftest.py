"""The registry tests' one collection rule: the authorisation table runs whole on SQLite and only its
"only"-grant columns on PostgreSQL — the rule is the same code on both, and those columns already take every
read the authoriser makes through PostgreSQL; the other columns there would add two minutes to `make test`."""

from __future__ import annotations

import pytest

_TABLE = "test_authz_table.py::test_who_may_do_what[postgresql-"
_KEPT_ON_POSTGRESQL = ("-record-only]", "-prefix-only]")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    dropped = [
        item for item in items if _TABLE in item.nodeid and not item.nodeid.endswith(_KEPT_ON_POSTGRESQL)
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
