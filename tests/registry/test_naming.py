"""How the node tells handles apart (`registry.naming`): ASCII case ignored by default, as the Handle.Net
server does, or kept on a node set up to tell case apart; listings show a handle as it was first written."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry import (
    AdminData,
    Handle,
    HandleExists,
    HandleValue,
    InvalidHandle,
    Naming,
    PermissionDenied,
    Principal,
    Services,
    register_many,
)
from registry.store import journal
from tests.conftest import ACME, node_services

IGNORING_CASE, TELLING_CASE = Naming(), Naming(case_sensitive=True)

# Letters whose Unicode case mapping reaches ASCII (ß→SS, ı→I, ſ→S, K→k) or stays outside it (é, ẞ), mixed
# with ASCII letters, so that generated suffixes hit both the folding and the characters it must leave alone.
TRICKY = "aAbBsSiIkK-1ßẞıſ\u212aéÉ"  # \u212a: the Kelvin sign
suffixes = st.text(st.sampled_from(TRICKY), min_size=1, max_size=12)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# Any suffix the parser takes (no control, format or separator character, no U+FFFD), in NFC as it keeps it.
any_suffixes = st.text(
    st.characters(exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp"], exclude_characters="\ufffd"),
    min_size=1,
    max_size=40,
).map(nfc)
# Those without full-width or half-width forms (which the key folds) and combining marks (which upper-casing
# the letter before them may compose with it).
WIDTH_FORMS = "\u3000" + "".join(map(chr, range(0xFF00, 0xFFF0)))
narrow_suffixes = st.text(
    st.characters(
        exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp", "Mn", "Mc", "Me"],
        exclude_characters="\ufffd" + WIDTH_FORMS,
    ),
    min_size=1,
    max_size=40,
).map(nfc)


def parsed(suffix: str) -> Handle:
    return Handle.parse(f"{ACME}/{suffix}")


def ascii_variant(text: str, flips: list[bool]) -> str:
    """`text` with the case of some of its ASCII letters swapped (where `flips` says so)."""
    return "".join(
        ch.swapcase() if ch.isascii() and ch.isalpha() and flip else ch
        for ch, flip in zip(text, flips + [False] * len(text), strict=False)
    )


def ascii_folded(text: str) -> str:
    return "".join(ch.upper() if ch.isascii() else ch for ch in text)


def values(url: str = "https://mes.example.com/parts/1") -> list[HandleValue]:
    return [HandleValue.text(1, "URL", url)]


# -- the rule --------------------------------------------------------------------------------------------


def test_handles_differing_only_in_ascii_case_have_one_key_by_default() -> None:
    assert IGNORING_CASE.key(parsed("part-1")) == IGNORING_CASE.key(parsed("PART-1")) == "88.999.1/PART-1"
    assert IGNORING_CASE.key_of("88.999.1/Part-1") == "88.999.1/PART-1"


@pytest.mark.parametrize(
    ("folded", "other"),
    [
        ("straße", "STRASSE"),  # str.upper() would make ß "SS"
        ("ı", "I"),  # dotless i, which upper-cases to I
        ("ſ", "S"),  # long s
        ("é", "É"),
    ],
)
def test_only_ascii_letters_fold(folded: str, other: str) -> None:
    assert IGNORING_CASE.key(parsed(folded)) != IGNORING_CASE.key(parsed(other))


def test_the_kelvin_sign_is_the_letter_k_since_it_is_canonically_equivalent() -> None:
    # Not a case fold: NFC, which the parser applies, maps U+212A to K (as U+212B to Å).
    assert IGNORING_CASE.key(parsed("\u212a")) == IGNORING_CASE.key(parsed("k")) == "88.999.1/K"
    assert TELLING_CASE.key(parsed("\u212a")) != TELLING_CASE.key(parsed("k"))


def test_a_non_ascii_letter_is_kept_as_it_is_in_the_key() -> None:
    assert IGNORING_CASE.key(parsed("straße")) == "88.999.1/STRAßE"


def test_a_node_telling_case_apart_keys_handles_as_they_are_written() -> None:
    assert TELLING_CASE.key(parsed("part-1")) == "88.999.1/part-1"
    assert TELLING_CASE.key(parsed("part-1")) != TELLING_CASE.key(parsed("PART-1"))


def test_the_prefix_ignores_case_whatever_the_rule() -> None:
    for naming in (IGNORING_CASE, TELLING_CASE):
        assert naming.key_of("0.na/88.999.1") == naming.key_of("0.NA/88.999.1") == "0.NA/88.999.1"


def test_a_malformed_handle_has_no_key() -> None:
    with pytest.raises(InvalidHandle):
        IGNORING_CASE.key_of("88.999.1/")


def test_the_rule_survives_the_label_the_node_table_keeps() -> None:
    for naming in (IGNORING_CASE, TELLING_CASE):
        assert Naming.from_label(naming.label) == naming


@given(any_suffixes, st.lists(st.booleans(), max_size=40))
def test_every_ascii_case_variant_of_a_handle_has_its_key(suffix: str, flips: list[bool]) -> None:
    handle = parsed(suffix)
    variant = parsed(ascii_variant(suffix, flips))

    assert IGNORING_CASE.key(handle) == IGNORING_CASE.key(variant)
    assert IGNORING_CASE.key(handle) == IGNORING_CASE.key(parsed(ascii_folded(suffix)))


@given(any_suffixes)
def test_a_key_is_its_own_key(suffix: str) -> None:
    key = IGNORING_CASE.key(parsed(suffix))

    assert IGNORING_CASE.key_of(key) == key


@given(narrow_suffixes)
def test_a_key_changes_nothing_but_ascii_letters(suffix: str) -> None:
    written = str(parsed(suffix))
    key = IGNORING_CASE.key(parsed(suffix))

    assert len(key) == len(written)
    assert all(k == w or (w.isascii() and k == w.upper()) for k, w in zip(key, written, strict=True))
    assert TELLING_CASE.key(parsed(suffix)) == written


@given(suffixes, suffixes)
def test_two_handles_share_a_key_exactly_when_they_differ_only_in_ascii_case(first: str, second: str) -> None:
    same_key = IGNORING_CASE.key(parsed(first)) == IGNORING_CASE.key(parsed(second))

    first, second = nfc(first), nfc(second)  # the Kelvin sign is K
    assert same_key == (ascii_folded(first) == ascii_folded(second))
    assert (TELLING_CASE.key(parsed(first)) == TELLING_CASE.key(parsed(second))) == (first == second)


# -- records, by default ---------------------------------------------------------------------------------

FIRST = Handle.parse("88.999.1/Part-1")
UPPER, LOWER = Handle.parse("88.999.1/PART-1"), Handle.parse("88.999.1/part-1")


async def listed(services: Services, principal: Principal) -> list[str]:
    return (await services.reads.list_handles(principal, ACME, page=0, page_size=10)).handles


async def test_creating_a_case_variant_of_an_existing_handle_is_refused(
    services: Services, acme: Principal
) -> None:
    await services.records.put_record(acme, FIRST, values("https://first"), overwrite=False)

    with pytest.raises(HandleExists):
        await services.records.put_record(acme, UPPER, values("https://second"), overwrite=False)

    assert "https://first" in (await services.reads.stored(LOWER) or "")
    assert await listed(services, acme) == ["88.999.1/Part-1"]


async def test_a_listing_shows_the_handle_as_it_was_first_written(
    services: Services, acme: Principal
) -> None:
    await services.records.put_record(acme, FIRST, values())

    assert not await services.records.put_record(acme, UPPER, values("https://replaced"))  # replaced
    await services.records.put_values(acme, LOWER, [HandleValue.text(2, "EMAIL", "qa@example.com")])
    await register_many(services.records, acme, [(str(LOWER), values("https://batch"))], overwrite=True)

    assert await listed(services, acme) == ["88.999.1/Part-1"]
    assert "https://batch" in (await services.reads.stored(FIRST) or "")


async def test_a_case_variant_deletes_the_record(services: Services, acme: Principal) -> None:
    await services.records.put_record(acme, FIRST, values())

    await services.records.delete(acme, LOWER)

    assert await services.reads.stored(FIRST) is None
    assert await listed(services, acme) == []


async def test_the_journal_and_the_change_feed_carry_the_key(services: Services, acme: Principal) -> None:
    # Caches are keyed alike, so that a write through any spelling drops the answer every spelling was given.
    heard: list[str] = []

    async def listener(keys: Sequence[str]) -> None:
        heard.extend(keys)

    services.feed.subscribe(listener)
    await services.records.put_record(acme, FIRST, values())
    await services.records.delete(acme, LOWER)

    async with services.store.reader.connect() as conn:
        recorded = await journal.since(conn, 0)
    assert [(c.handle, c.op) for c in recorded[-2:]] == [(str(UPPER), "create"), (str(UPPER), "delete")]
    assert heard == [str(UPPER), str(UPPER)]


async def test_a_batch_refuses_a_case_variant_of_an_item_or_of_an_existing_handle(
    services: Services, acme: Principal
) -> None:
    await services.records.put_record(acme, FIRST, values())
    items = [("88.999.1/Coil-1", values()), ("88.999.1/COIL-1", values()), (str(LOWER), values())]

    results = await register_many(services.records, acme, items)

    assert [(r.handle, r.ok) for r in results] == [
        ("88.999.1/Coil-1", True),
        ("88.999.1/COIL-1", False),
        ("88.999.1/part-1", False),
    ]
    assert results[1].error is not None
    assert "twice" in results[1].error.message
    assert isinstance(results[2].error, HandleExists)
    assert await listed(services, acme) == ["88.999.1/Coil-1", "88.999.1/Part-1"]


async def test_an_administrator_named_in_another_case_holds_the_grant(
    services: Services, acme: Principal
) -> None:
    ops = Principal.parse("300:88.999.2/OPS")
    granted = [*values(), HandleValue(100, "HS_ADMIN", AdminData("88.999.2/ops", 300, "011111110011"))]
    await services.records.put_record(acme, FIRST, granted)

    await services.records.put_values(ops, UPPER, [HandleValue.text(2, "EMAIL", "ops@example.com")])

    assert "ops@example.com" in (await services.reads.stored(FIRST) or "")


# -- records on a node that tells case apart -------------------------------------------------------------


@pytest.fixture
async def telling_case(database_url: str) -> AsyncIterator[Services]:
    """Node 88.999 set up to tell suffixes apart by case, with the same two enterprises."""
    async with node_services(database_url, TELLING_CASE) as services:
        yield services


async def test_a_node_telling_case_apart_keeps_case_variants_as_two_records(
    telling_case: Services, acme: Principal
) -> None:
    assert telling_case.node.naming == TELLING_CASE
    assert await telling_case.records.put_record(acme, FIRST, values("https://first"), overwrite=False)
    assert await telling_case.records.put_record(acme, UPPER, values("https://second"), overwrite=False)

    assert "https://first" in (await telling_case.reads.stored(FIRST) or "")
    assert "https://second" in (await telling_case.reads.stored(UPPER) or "")
    assert await telling_case.reads.stored(LOWER) is None
    # Sorted: how two case variants order follows the database's collation (C here, maybe not elsewhere).
    assert sorted(await listed(telling_case, acme)) == ["88.999.1/PART-1", "88.999.1/Part-1"]


async def test_a_node_telling_case_apart_grants_nothing_to_a_case_variant(
    telling_case: Services, acme: Principal
) -> None:
    ops = Principal.parse("300:88.999.2/OPS")
    granted = [*values(), HandleValue(100, "HS_ADMIN", AdminData("88.999.2/ops", 300, "011111110011"))]
    await telling_case.records.put_record(acme, FIRST, granted)

    with pytest.raises(PermissionDenied):
        await telling_case.records.put_values(ops, FIRST, [HandleValue.text(2, "EMAIL", "ops@example.com")])
