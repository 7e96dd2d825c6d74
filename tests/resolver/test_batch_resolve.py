"""POST /api/resolve: many handles answered as GETs would answer them, with one database round trip."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import ACME_SECRET
from tests.resolver.conftest import ACME_USER, RunningNode


def register(http: httpx.Client, handles: list[str]) -> None:
    for handle in handles:
        body = [{"index": 2000, "type": "serialNo", "data": handle.rsplit("/", 1)[1]}]
        assert http.put(f"/api/handles/{handle}", json=body, auth=(ACME_USER, ACME_SECRET)).status_code == 201


def test_each_result_is_exactly_the_get_answer_in_request_order(http: httpx.Client) -> None:
    register(http, ["88.999.1/BATCH-A", "88.999.1/BATCH-B"])
    asked = ["88.999.1/BATCH-B", "88.999.1/NOT-THERE", "no-slash", "88.999.1/BATCH-A", "88.999.1/BATCH-B"]

    response = http.post("/api/resolve", json={"handles": asked})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["responseCode"] for r in results] == [1, 100, 301, 1, 1]
    for handle, result in zip(asked, results, strict=True):
        assert result == http.get(f"/api/handles/{handle}").json()
    assert results[2] == {
        "responseCode": 301,
        "message": "That prefix doesn't live here",
        "handle": "no-slash",
    }


def test_the_misses_of_a_batch_cost_one_database_round_trip(
    node: RunningNode, http: httpx.Client, metrics: Callable[[str], dict[str, float]]
) -> None:
    handles = [f"88.999.1/ROUND-TRIP-{n}" for n in range(100)]
    register(http, handles)
    before = metrics(node.url)

    first = http.post("/api/resolve", json={"handles": handles}).json()["results"]
    middle = metrics(node.url)
    second = http.post("/api/resolve", json={"handles": handles}).json()["results"]
    after = metrics(node.url)

    assert first == second
    assert middle["idnode_store_queries_total"] - before["idnode_store_queries_total"] == 1
    assert after["idnode_store_queries_total"] == middle["idnode_store_queries_total"]  # all cached now
    assert after["idnode_l1_hits_total"] - middle["idnode_l1_hits_total"] == 100


@pytest.mark.parametrize(
    "body",
    [{"handles": ["88.999.1/X"] * 1001}, {"handles": "88.999.1/X"}, {"handles": [1, 2]}, ["88.999.1/X"], {}],
)
def test_a_malformed_batch_is_400_with_code_4(http: httpx.Client, body: object) -> None:
    response = http.post("/api/resolve", json=body)

    assert response.status_code == 400
    assert response.json()["responseCode"] == 4


def test_a_batch_must_be_json(http: httpx.Client) -> None:
    response = http.post(
        "/api/resolve", content=b"handles=88.999.1/X", headers={"Content-Type": "text/plain"}
    )

    assert (response.status_code, response.json()["responseCode"]) == (400, 4)
