"""The requests the load scenarios send: Zipf-skewed, reproducible, and batches that keep the skew."""

from __future__ import annotations

import json
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.data import records
from benchmarks.workload import batch_lines, every_path, handle_of, handles, zipf_paths

PREFIX = "88.999.1"


def test_zipf_paths_are_skewed_like_a_days_shipments() -> None:
    names = handles(100_000, PREFIX)
    paths = zipf_paths(names)
    counts = Counter(paths).most_common()
    hottest_share = counts[0][1] / len(paths)
    top_100_share = sum(n for _, n in counts[:100]) / len(paths)
    # Zipf(1.1) over 100,000: the hottest handle takes about 13 %, the top hundred most of the load.
    assert 0.10 < hottest_share < 0.16
    assert top_100_share > 0.5
    assert len(counts) < len(names) / 2  # most handles are never asked for: a hot set


def test_zipf_paths_are_the_same_run_after_run_and_name_seeded_handles() -> None:
    names = handles(1_000, PREFIX)
    first, second = zipf_paths(names, samples=5_000), zipf_paths(names, samples=5_000)
    assert first == second
    assert {handle_of(path) for path in first} <= set(names)


def test_the_hottest_handles_are_not_simply_the_first_registered() -> None:
    names = handles(10_000, PREFIX)
    hottest = [handle_of(path) for path, _ in Counter(zipf_paths(names)).most_common(10)]
    assert hottest != names[:10]


def test_every_path_names_each_handle_once() -> None:
    names = handles(500, PREFIX)
    assert sorted(handle_of(path) for path in every_path(names)) == sorted(names)


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=300))
def test_batch_lines_cut_the_samples_in_order(size: int, count: int) -> None:
    paths = [f"/api/handles/{PREFIX}/PART-{n:08d}" for n in range(count)]
    lines = batch_lines(paths, size)
    assert len(lines) == count // size
    asked = []
    for line in lines:
        method, path, body = line.split(" ", 2)
        assert (method, path) == ("POST", "/api/resolve")
        batch = json.loads(body)["handles"]
        assert len(batch) == size
        asked += batch
    assert asked == [handle_of(path) for path in paths[: len(asked)]]


def test_seeded_records_are_reproducible_parts_and_coils() -> None:
    first = list(records(6, PREFIX, values=(5, 8)))
    assert first == list(records(6, PREFIX, values=(5, 8)))
    assert [handle.split("/")[1].split("-")[0] for handle, _ in first] == ["PART", "COIL"] * 3
    assert all(5 <= len(fields) <= 8 for _, fields in first)
