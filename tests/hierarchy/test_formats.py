"""The report formats: what each kind of report says, from what."""

from __future__ import annotations

import pytest

from registry.reporting import PrefixCounts
from resolver.reporting import formats


@pytest.mark.parametrize(
    ("first", "last", "operation"),
    [
        ("create", "create", formats.ADD),
        ("create", "update", formats.ADD),
        ("create", "delete", None),  # made and deleted the same day: nothing to tell
        ("update", "update", formats.MODIFY),
        ("update", "delete", formats.DELETE),
        ("delete", "delete", formats.DELETE),
        ("delete", "create", formats.MODIFY),  # deleted, then made again: another record under the handle
    ],
)
def test_an_identifier_s_day_is_one_operation(first: str, last: str, operation: int | None) -> None:
    assert formats.operation(first, last) == operation


def test_a_busy_day_of_identifiers_is_told_in_parts() -> None:
    ops: list[formats.Operation] = [(f"88.901.5/C-{n}", formats.ADD, []) for n in range(2_500)]
    ops.append(("88.901.5/GONE", formats.DELETE, None))

    reports = formats.identifiers("2026-12-05", "88.901.5", ops, final=True)

    assert [r.subject for r in reports] == [f"identifiers:2026-12-05:88.901.5:{n}" for n in range(3)]
    assert [len(r.body["operations"]) for r in reports] == [1_000, 1_000, 501]
    assert reports[2].body["operations"][-1] == {"handle": "88.901.5/GONE", "operation": formats.DELETE}


def test_monitoring_without_resolutions_says_none_rather_than_zero() -> None:
    quiet = formats.monitoring("2026-12-05", [PrefixCounts()], (None, 0), PrefixCounts(), final=True)
    busy = formats.monitoring(
        "2026-12-05",
        [PrefixCounts(2, 2, 0.001, 0.004, 0.003), PrefixCounts(2, 1, 0.002, 0.006, 0.004)],
        (1_764_950_400, 7),
        PrefixCounts(1, 1, 0.010, 0.010, 0.010),
        final=False,
    )

    assert quiet.body["latencyAvgMs"] is None
    assert quiet.body["peakAt"] is None
    assert (busy.body["latencyMinMs"], busy.body["latencyAvgMs"], busy.body["latencyMaxMs"]) == (
        1.0,
        2.5,
        4.0,
    )
    assert (busy.body["peakQps"], busy.body["peakAt"]) == (7, "2025-12-05T16:00:00+00:00")
    assert busy.body["registrationLatencyAvgMs"] == 10.0


def test_the_configuration_names_the_ports_and_the_same_report_has_the_same_id() -> None:
    place = formats.Place("88.901", ("10.0.0.7",), 2641, 8000)

    report = formats.config(place)

    assert report.body == {"codingScheme": "Handle", "nodePrefix": "88.901", "addresses": ["10.0.0.7"],
                           "tcpPort": 2641, "udpPort": 2641, "httpPort": 8000}  # fmt: skip
    assert formats.config(place).digest == report.digest
    assert formats.config(formats.Place("88.901", ("10.0.0.7",), 2642, 8000)).digest != report.digest
