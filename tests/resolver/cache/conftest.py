"""Real Redis servers and clusters for the cache tests (the fixtures come from tests/resolver/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["server", "cluster"])
def redis_url(request: pytest.FixtureRequest) -> str:
    """A Redis of each kind: one server (this test's own), and a three-master cluster."""
    fixture = "redis_server" if request.param == "server" else "redis_cluster"
    url: str = request.getfixturevalue(fixture).url
    return url
