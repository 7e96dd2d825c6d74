"""A real Handle client, `pyhandle` from PyPI, against a running node."""

from __future__ import annotations

import pytest
from pyhandle.handleclient import PyHandleClient
from pyhandle.handleexceptions import (
    GenericHandleError,
    HandleAlreadyExistsException,
    HandleAuthenticationError,
)

from tests.conftest import ACME_SECRET, OTHER_SECRET
from tests.resolver.conftest import RunningNode

HANDLE = "88.999.1/PART-0001"


def client(node: RunningNode, user: str, secret: str) -> PyHandleClient:
    return PyHandleClient("rest").instantiate_with_username_and_password(
        node.url, user, secret, HTTPS_verify=False
    )


def test_pyhandle_registers_resolves_modifies_and_deletes(node: RunningNode) -> None:
    acme = client(node, "300:0.NA/88.999.1", ACME_SECRET)

    registered = acme.register_handle_kv(HANDLE, URL="https://mes.example.com/p/1", CHECKSUM="ab12")
    assert registered == HANDLE
    record = acme.retrieve_handle_record(HANDLE)
    assert record["URL"] == "https://mes.example.com/p/1"
    assert record["CHECKSUM"] == "ab12"
    assert acme.get_value_from_handle(HANDLE, "HS_ADMIN")  # pyhandle added its own admin value

    acme.modify_handle_value(HANDLE, URL="https://mes.example.com/p/1-v2", BATCH="B20261122-07")
    record = acme.retrieve_handle_record(HANDLE)
    assert record["URL"] == "https://mes.example.com/p/1-v2"
    assert record["BATCH"] == "B20261122-07"

    acme.delete_handle_value(HANDLE, "CHECKSUM")
    assert "CHECKSUM" not in acme.retrieve_handle_record(HANDLE)

    with pytest.raises(HandleAlreadyExistsException):
        acme.register_handle_kv(HANDLE, URL="https://elsewhere.example.com")

    acme.delete_handle(HANDLE)
    assert acme.retrieve_handle_record(HANDLE) is None


def test_pyhandle_as_another_enterprise_is_refused_under_88_999_1(node: RunningNode) -> None:
    acme = client(node, "300:0.NA/88.999.1", ACME_SECRET)
    acme.register_handle_kv("88.999.1/GUARDED", URL="https://mes.example.com/guarded")
    other = client(node, "300:0.NA/88.999.2", OTHER_SECRET)

    # pyhandle reports a 403 as a generic error carrying the status.
    for attempt in (
        lambda: other.register_handle_kv("88.999.1/INTRUDER", URL="https://evil.example"),
        lambda: other.modify_handle_value("88.999.1/GUARDED", URL="https://evil.example"),
        lambda: other.delete_handle("88.999.1/GUARDED"),
    ):
        with pytest.raises(GenericHandleError, match="403"):
            attempt()

    assert acme.retrieve_handle_record("88.999.1/GUARDED")["URL"] == "https://mes.example.com/guarded"
    assert acme.retrieve_handle_record("88.999.1/INTRUDER") is None


def test_pyhandle_with_a_wrong_secret_gets_an_authentication_error(node: RunningNode) -> None:
    wrong = client(node, "300:0.NA/88.999.1", "not the secret")

    with pytest.raises(HandleAuthenticationError):
        wrong.register_handle_kv("88.999.1/NOPE", URL="https://x.example")
