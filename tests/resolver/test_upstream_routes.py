"""Where a prefix lives, read off its site record: which server interface is asked, which prefix serves
which handle."""

from __future__ import annotations

import itertools

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry import Handle
from resolver.answer import Answer
from resolver.upstream.routes import SIGNING, endpoints, route_of
from resolver.upstream.stage import ancestors, authority
from sdk.native.values import INTERFACE_ADMIN, INTERFACE_QUERY, Interface, Server, Site

QUERY = INTERFACE_QUERY | INTERFACE_ADMIN
UDP, TCP, HTTP = 0, 1, 2


def _site(*servers: tuple[str, tuple[Interface, ...]]) -> Site:
    return Site(servers=tuple(Server(n, address, b"", i) for n, (address, i) in enumerate(servers, start=1)))


def test_each_server_is_asked_on_its_cheapest_interface() -> None:
    site = _site(
        (
            "10.0.0.1",
            (Interface(QUERY, TCP, 2641), Interface(QUERY, UDP, 2641), Interface(QUERY, HTTP, 8000)),
        ),
        ("10.0.0.2", (Interface(QUERY, UDP, 2641), Interface(QUERY, TCP, 2642))),
        ("10.0.0.3", (Interface(QUERY, UDP, 2641),)),  # datagrams only: not asked
        ("::1", (Interface(QUERY, HTTP, 8080),)),
        ("10.0.0.5", (Interface(INTERFACE_ADMIN, HTTP, 8000),)),  # administration only: not asked
    )

    assert endpoints(site) == ["tcp://10.0.0.1:2641", "tcp://10.0.0.2:2642", "http://[::1]:8080"]
    assert endpoints(site, SIGNING) == ["http://10.0.0.1:8000", "http://[::1]:8080"]  # cert=true needs HTTP


def _record(*values: object) -> Answer:
    return Answer.from_stored(orjson.dumps(list(values)))


def test_a_prefix_handle_routes_to_the_site_it_names() -> None:
    site = _site(("127.0.0.1", (Interface(QUERY, HTTP, 8001),))).to_json()
    hs_site = {"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": site}, "ttl": 300}
    admin = {"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": {}}}

    route = route_of(_record(admin, hs_site), derived=True)

    assert route is not None
    assert route.servers == ("http://127.0.0.1:8001",)
    assert route.derived
    assert route.site is not None
    assert [v["type"] for v in route.site.values()] == ["HS_SITE"]  # what a referral names
    assert route.site.ttl == 300


@pytest.mark.parametrize(
    "values",
    [
        [{"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": {}}}],
        [{"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": {"servers": "not a list"}}}],
        [{"index": 1, "type": "HS_SITE", "data": "a string, not a site"}],
    ],
)
def test_a_prefix_handle_without_a_usable_site_routes_nowhere(values: list[object]) -> None:
    assert route_of(_record(*values), derived=False) is None


def test_the_prefix_answering_for_a_handle() -> None:
    assert authority(Handle.parse("88.901.5/COIL-1")) == "88.901.5"
    assert authority(Handle.parse("0.NA/88.901.5")) == "88.901"
    assert authority(Handle.parse("0.NA/88")) is None
    assert ancestors("88.901.5") == ["88.901.5", "88.901", "88"]


@given(st.lists(st.from_regex(r"[0-9A-Z]{1,4}", fullmatch=True), min_size=1, max_size=6))
def test_ancestors_walk_up_one_segment_at_a_time(segments: list[str]) -> None:
    prefix = ".".join(segments)
    found = ancestors(prefix)

    assert found[0] == prefix
    assert found[-1] == segments[0]
    assert all(longer.startswith(shorter + ".") for longer, shorter in itertools.pairwise(found))
