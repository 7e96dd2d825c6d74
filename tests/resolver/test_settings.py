"""The node's settings: the timeouts that bound a client's headers and body."""

from __future__ import annotations

import pytest

from resolver.settings import Settings, SettingsError


def test_the_header_and_body_timeouts_default_to_10_and_30_seconds() -> None:
    settings = Settings.from_env({})

    assert (settings.header_timeout, settings.body_timeout) == (10, 30)


def test_the_timeouts_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"IDNODE_HEADER_TIMEOUT": "5", "IDNODE_BODY_TIMEOUT": "60"})

    assert (settings.header_timeout, settings.body_timeout) == (5, 60)


@pytest.mark.parametrize("name", ["IDNODE_HEADER_TIMEOUT", "IDNODE_BODY_TIMEOUT"])
@pytest.mark.parametrize("text", ["0", "-1", "ten", "1.5"])
def test_a_timeout_that_is_not_a_positive_number_of_seconds_stops_the_node(name: str, text: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: text})
