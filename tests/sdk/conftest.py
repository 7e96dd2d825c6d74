"""A fake node and clients of both kinds on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sdk import AsyncNodeClient, NodeClient, Retries
from sdk.testing import FakeNode

PREFIX = "88.999.1"
SECRET = "acme-secret"
COIL_INDEXES = {"heatNo": 2000, "slabNo": 2001, "coilNo": 2002, "grade": 2003, "thicknessMm": 2004}
QUICK = Retries(attempts=3, base=0.001, cap=0.002)


@pytest.fixture
def node() -> FakeNode:
    fake = FakeNode(users={PREFIX: SECRET, "88.999.2": "other-secret"})
    fake.add_template(PREFIX, "1.0", COIL_INDEXES, required=["heatNo", "coilNo"])
    return fake


class Both:
    """The same calls on `NodeClient` or `AsyncNodeClient`: tests are written once and run on each."""

    def __init__(self, client: NodeClient | AsyncNodeClient) -> None:
        self.client = client

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        if isinstance(self.client, AsyncNodeClient):
            return await result
        return result


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest, node: FakeNode, tmp_path: Path) -> Iterator[Callable[..., Both]]:
    made: list[NodeClient | AsyncNodeClient] = []

    def build(**options: Any) -> Both:
        options = {"username": f"300:0.NA/{PREFIX}", "secret": SECRET, "retries": QUICK} | options
        kind = NodeClient if request.param == "sync" else AsyncNodeClient
        made.append(kind("http://node", transport=node, **options))
        return Both(made[-1])

    yield build
    for client in made:
        if isinstance(client, NodeClient):
            client.close()


@pytest.fixture
async def closing(make: Callable[..., Both]) -> AsyncIterator[Callable[..., Both]]:
    """`make`, with the async clients closed inside the event loop that used them."""
    built: list[Both] = []

    def build(**options: Any) -> Both:
        built.append(make(**options))
        return built[-1]

    yield build
    for both in built:
        if isinstance(both.client, AsyncNodeClient):
            await both.client.aclose()
