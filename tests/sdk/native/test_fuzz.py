"""Fuzzing the decoders a native server runs on bytes from anyone: each must return or raise `WireError` —
nothing else (no IndexError, struct.error, UnicodeDecodeError, MemoryError…) — and never take long.

A deterministic mutation fuzzer (`random.Random(seed)`) starts from valid encodings of every kind and bends
them: bit flips, bytes set, inserted or deleted, 4- and 2-byte fields (lengths and counts above all) set to
huge, "negative" and off-by-one values, truncation, splicing with other inputs; what still decodes joins the
corpus. The default suite runs 20,000 inputs; `pytest -m long` runs 1,000,000. A failure names the decoder
and the input's bytes, enough to reproduce it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdk.native import wire
from sdk.native.bodies import (
    ResolutionRequest,
    error_body,
    read_error,
    read_resolution,
    read_site,
    resolution_body,
    site_body,
)
from sdk.native.codes import MAX_MESSAGE, EnvelopeFlag, OpCode, OpFlag
from sdk.native.credential import HS_MAC, Signature
from sdk.native.message import Envelope, Message, digest, frame, unframe
from sdk.native.session import MODP_2048, DhPublic, KeyExchange, SessionSetup, SessionSetupAnswer
from sdk.native.udp import Reassembly, datagrams, split_datagram
from sdk.native.values import (
    Admin,
    Interface,
    Server,
    Site,
    Value,
    decode_references,
    decode_values,
    encode_references,
    encode_values,
    to_json,
)
from sdk.native.wire import Reader, WireError

Decoder = Callable[[bytes], object]

# --- valid encodings to start from --------------------------------------------------------------------------

ADMIN = Admin(0x0FF3, "0.NA/88.118.8", 200)
VLIST = encode_references([("88.118.8/admins", 300), ("0.NA/88", -1), ("", 0)])
SITE = Site(
    serial=3,
    servers=(
        Server(
            1,
            "192.0.2.7",
            b"\x00\x00\x00\x06RSAKEY" + bytes(24),
            (Interface(2, 1, 2641), Interface(3, 0, 2641)),
        ),
        Server(2, "2001:db8::1", b"", (Interface(1, 2, 8000),)),
    ),
    attributes=(("desc", "测试"), ("", "")),
    hash_filter="0",
    protocol=(2, 10),
)
EMPTY_SITE = Site()
VALUES = [
    Value(1, "URL", b"https://example.com/p/1", timestamp=1_600_000_000),
    Value(2, "EMAIL", "零件@example.com".encode(), ttl=1_900_000_000, ttl_type=1, permissions=0b1011),
    Value(100, "HS_ADMIN", ADMIN.encode(), references=(("88.118.8/REF", 1),)),
    Value(200, "HS_VLIST", VLIST),
    Value(3, "HS_SITE", SITE.encode()),
    Value(4, "", b""),
]
HANDLE = "88.118.8/PART-0001"
REQUESTS = [
    ResolutionRequest(HANDLE),
    ResolutionRequest(HANDLE, (100, 1), ("URL", "HS_ADMIN")),
    ResolutionRequest("0.NA/88.118.8", (), ("HS_SITE", "HS_SERV")),
]
REQUEST_MESSAGES = [
    Message(OpCode.RESOLUTION, 0, OpFlag.AT | OpFlag.RD, REQUESTS[1].encode(), expiration=1_700_000_000),
    Message(OpCode.RESOLUTION, 0, OpFlag.NONE, REQUESTS[0].encode()),
    Message(OpCode.RESOLUTION, 0, OpFlag.RD, REQUESTS[2].encode(), b"\x00\x00\x00\x03MAC", recursion=2),
    Message(OpCode.GET_SITE_INFO, 0, OpFlag.NONE, b""),
]
RD_NEW = digest(REQUEST_MESSAGES[0].signed_part(), (2, 11))
RD_OLD = digest(REQUEST_MESSAGES[0].signed_part(), (2, 5))
RESOLUTION_BODIES = [
    resolution_body(HANDLE.encode(), encode_values(VALUES[:2])),
    resolution_body(HANDLE.encode(), encode_values(VALUES)),
    resolution_body(b"0.NA/88", encode_values([])),
]
RESOLUTION_RD = [RD_NEW + RESOLUTION_BODIES[0], RD_OLD + RESOLUTION_BODIES[1]]  # SHA-256 and SHA-1
ERROR_BODIES = [error_body("handle not found"), error_body(""), b""]
SITE_BODIES = [site_body(SITE), site_body(EMPTY_SITE)]
ANSWERS = [
    Message(OpCode.RESOLUTION, 1, OpFlag.RD, RD_NEW + RESOLUTION_BODIES[0]),
    Message(OpCode.RESOLUTION, 100, OpFlag.NONE, ERROR_BODIES[0]),
    Message(OpCode.GET_SITE_INFO, 1, OpFlag.RD, RD_OLD + SITE_BODIES[0]),
]
ENVELOPES = [
    Envelope(),
    Envelope(2, 10, EnvelopeFlag.TC, 2, 10, 7, 4242, 3, 1234),
    Envelope(2, 5, EnvelopeFlag.CP | EnvelopeFlag.EC, 0, 0, 0xFFFFFFFF, 1, 0, MAX_MESSAGE),
]
FRAMED = [frame(Envelope(request_id=n), m.encode()) for n, m in enumerate(REQUEST_MESSAGES + ANSWERS)]
BIG_ANSWER = Message(OpCode.RESOLUTION, 1, OpFlag.NONE, RESOLUTION_BODIES[1]).encode()
DATAGRAMS = [
    *datagrams(Envelope(request_id=1), BIG_ANSWER),
    *datagrams(Envelope(request_id=2), REQUEST_MESSAGES[0].encode()),
    *datagrams(Envelope(request_id=3), b"x" * 493),
]
assert len(BIG_ANSWER) > 492  # a split message among the datagrams
DH_KEY = DhPublic(pow(2, 12345, MODP_2048), MODP_2048, 2)
SESSION_SETUPS = [
    SessionSetup(KeyExchange.DH, 3600, "0.NA/88.118.8", 300, DH_KEY.encode()),
    SessionSetup(KeyExchange.CIPHER_HDL, 0, "", 0, key_handle="0.NA/88.118.8", key_index=301),
    SessionSetup(KeyExchange.CIPHER_SERVER),
]
CREDENTIALS = [Signature("SHA-256", b"s" * 256), Signature("HMAC-SHA256", b"m" * 32, 7, HS_MAC)]


def _server(data: bytes) -> object:
    """What a TCP front end does with what it reads: unframe, decode the message, decode a request body."""
    _, raw = unframe(data)
    message = Message.decode(raw)
    if message.opcode == OpCode.RESOLUTION and message.response_code == 0:
        return ResolutionRequest.decode(message.body)
    return message


def _values_to_json(data: bytes) -> object:
    """What a recursive node does with upstream values: decode them and show them in JSON."""
    return [to_json(value) for value in decode_values(Reader(data))]


def _dh_checked(data: bytes) -> object:
    key = DhPublic.decode(data)
    key.check()
    return key


def _setup_answer(data: bytes) -> object:
    return SessionSetupAnswer.decode(Reader(data)).dh_public()


def targets() -> list[tuple[str, Decoder, list[bytes]]]:
    """Each decoder with the valid encodings it starts from (`Reassembly.add` on a new `Reassembly`)."""
    reassembly = Reassembly(max_pending=8, timeout=3600)

    def reassemble(data: bytes) -> object:
        return reassembly.add("peer", *split_datagram(data))

    def body(read: Callable[[Message], object], opcode: int, flags: OpFlag) -> Decoder:
        return lambda data: read(Message(opcode, 1, flags, data))

    rd, none = OpFlag.RD, OpFlag.NONE
    return [
        ("unframe", unframe, FRAMED),
        ("Envelope.decode", Envelope.decode, [e.encode() for e in ENVELOPES]),
        ("Message.decode", Message.decode, [m.encode() for m in REQUEST_MESSAGES + ANSWERS]),
        ("ResolutionRequest.decode", ResolutionRequest.decode, [r.encode() for r in REQUESTS]),
        ("Value.decode", lambda data: Value.decode(Reader(data)), [v.encode() for v in VALUES]),
        ("decode_values", lambda data: decode_values(Reader(data)), [encode_values(v) for v in ([], VALUES)]),
        ("Site.decode", Site.decode, [SITE.encode(), EMPTY_SITE.encode()]),
        ("Admin.decode", Admin.decode, [ADMIN.encode(), Admin(0, "", 0).encode()]),
        ("decode_references", decode_references, [VLIST, encode_references([])]),
        ("read_resolution", body(read_resolution, 1, none), RESOLUTION_BODIES),
        ("read_resolution+RD", body(read_resolution, 1, rd), RESOLUTION_RD),
        ("read_error", body(read_error, 1, none), ERROR_BODIES),
        ("read_error+RD", body(read_error, 1, rd), [RD_OLD + b for b in ERROR_BODIES]),
        ("read_site", body(read_site, 2, none), SITE_BODIES),
        ("read_site+RD", body(read_site, 2, rd), [RD_NEW + b for b in SITE_BODIES]),
        ("Reassembly.add", reassemble, DATAGRAMS),
        ("server", _server, FRAMED[: len(REQUEST_MESSAGES)]),
        ("to_json(decode_values)", _values_to_json, [encode_values(VALUES)]),
        ("SessionSetup.decode", SessionSetup.decode, [setup.encode() for setup in SESSION_SETUPS]),
        ("DhPublic.decode+check", _dh_checked, [DH_KEY.encode()]),
        ("SessionSetupAnswer.decode", _setup_answer, [SessionSetupAnswer.dh(DH_KEY).encode()]),
        ("Signature.decode", Signature.decode, [c.encode() for c in CREDENTIALS]),
    ]  # fmt: skip


# --- the mutator --------------------------------------------------------------------------------------------

# What a length or a count is set to: huge, "negative" as a signed int, at and around the protocol's limits.
WORDS = (
    0, 1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 2_048, 2_049, MAX_MESSAGE,
    MAX_MESSAGE + 1, 0x3FFFFFFF, 0x40000000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF,
)  # fmt: skip
WORD_BYTES = tuple(w.to_bytes(4, "big") for w in WORDS)
HALF_BYTES = tuple((w & 0xFFFF).to_bytes(2, "big") for w in WORDS)
SPECIAL_BYTES = (0x00, 0x01, 0x02, 0x03, 0x7F, 0x80, 0xC0, 0xE0, 0xFF)
MAX_INPUT = 4_096
# An input is slow past this (they take some 10–100 µs): timed again, so that a pause of the process alone
# (a garbage collection, the scheduler) is not taken for a decoder that loops on a count or a length.
SLOW = 0.01


@dataclass(slots=True)
class Seed:
    data: bytes
    # Offsets of the 4-byte big-endian words that could be a length or a count: small next to the input.
    words: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        data, size = self.data, len(self.data)
        self.words = [i for i in range(size - 3) if int.from_bytes(data[i : i + 4], "big") <= size]


def mutate(rng: random.Random, seed: Seed, corpus: list[Seed]) -> bytes:
    data = bytearray(seed.data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        size = len(data)
        op = rng.randrange(10)
        if op == 0 and size:  # flip a bit
            data[rng.randrange(size)] ^= 1 << rng.randrange(8)
        elif op == 1 and size:  # set a byte
            data[rng.randrange(size)] = (
                rng.choice(SPECIAL_BYTES) if rng.random() < 0.5 else rng.randrange(256)
            )
        elif op == 2:  # insert bytes
            at = rng.randrange(size + 1)
            data[at:at] = rng.randbytes(rng.randrange(1, 9))
        elif op == 3 and size:  # delete bytes
            at = rng.randrange(size)
            del data[at : at + rng.randrange(1, 9)]
        elif op in (4, 5) and size >= 4:  # a length or count: to a huge, negative or off-by-one value
            at = rng.choice(seed.words) if seed.words and rng.random() < 0.8 else rng.randrange(size - 3)
            if at + 4 > size:
                continue
            if rng.random() < 0.3:  # off by a little
                word = (int.from_bytes(data[at : at + 4], "big") + rng.choice((-1, 1, 2, -4, 4))) & 0xFFFFFFFF
                data[at : at + 4] = word.to_bytes(4, "big")
            else:
                data[at : at + 4] = rng.choice(WORD_BYTES)
        elif op == 6 and size >= 2:  # a 2-byte field
            at = rng.randrange(size - 1)
            data[at : at + 2] = rng.choice(HALF_BYTES)
        elif op == 7:  # truncate
            del data[rng.randrange(size + 1) :]
        elif op == 8:  # splice with another input
            other = rng.choice(corpus).data
            data[rng.randrange(size + 1) :] = other[rng.randrange(len(other) + 1) :]
        elif op == 9 and size:  # repeat a chunk
            at = rng.randrange(size)
            chunk = data[at : at + rng.randrange(1, 33)]
            data[at:at] = chunk
    return bytes(data[:MAX_INPUT])


@dataclass
class Run:
    inputs: int = 0
    accepted: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    slowest_target: str = ""
    slow: list[tuple[str, bytes]] = field(default_factory=list)  # (the first 1,000) inputs over SLOW s
    per_target: dict[str, list[int]] = field(default_factory=dict)  # name: [inputs, accepted]

    def summary(self, seed: int) -> str:
        return (
            f"native fuzz, seed {seed}: {self.inputs} inputs in {self.seconds:.1f} s "
            f"({self.inputs / max(self.seconds, 1e-9):,.0f}/s), {self.accepted} decoded, "
            f"slowest {self.slowest * 1000:.2f} ms ({self.slowest_target}; "
            f"{len(self.slow)} over {SLOW * 1000:.0f} ms before timing again)"
        )


def fuzz(seed: int, inputs: int) -> Run:
    rng = random.Random(seed)
    plan = [(name, decode, [Seed(d) for d in seeds]) for name, decode, seeds in targets()]
    run = Run(per_target={name: [0, 0] for name, _, _ in plan})
    clock = time.perf_counter
    begin = clock()
    slowest, slowest_target = 0.0, ""
    for n in range(inputs):
        name, decode, corpus = plan[n % len(plan)]
        data = mutate(rng, rng.choice(corpus), corpus)
        t0 = clock()
        try:
            decode(data)
        except WireError:
            ok = False
        except Exception as exc:  # anything else is a bug: say which decoder and which bytes
            raise AssertionError(
                f"{name} raised {type(exc).__name__}: {exc} (seed {seed}, input {n}) on {data.hex()}"
            ) from exc
        else:
            ok = True
        spent = clock() - t0
        if spent > slowest:
            slowest, slowest_target = spent, name
        if spent > SLOW and len(run.slow) < 1_000:
            run.slow.append((name, data))
        counts = run.per_target[name]
        counts[0] += 1
        if ok:
            counts[1] += 1
            # What still decodes is a valid input of another shape: keep some to mutate further.
            if len(data) < 2_048 and rng.random() < 0.05:
                if len(corpus) < 64:
                    corpus.append(Seed(data))
                else:
                    corpus[rng.randrange(len(corpus))] = Seed(data)
    run.seconds = clock() - begin
    run.inputs = sum(tried for tried, _ in run.per_target.values())
    run.accepted = sum(accepted for _, accepted in run.per_target.values())
    run.slowest, run.slowest_target = slowest, slowest_target
    return run


def retimed(name: str, data: bytes) -> float:
    """The least of three timings of one input."""
    decode, best = _decoder(name), 1.0
    for _ in range(3):
        t0 = time.perf_counter()
        with contextlib.suppress(WireError):
            decode(data)
        best = min(best, time.perf_counter() - t0)
    return best


def check(run: Run, inputs: int) -> None:
    assert run.inputs == inputs
    for name, (tried, accepted) in run.per_target.items():
        # Each decoder both took and refused some: the mutator neither only breaks nor only copies its inputs.
        assert 0 < accepted < tried, f"{name}: {accepted} of {tried} decoded"
    # No input may take long (they are at most 4 KiB): one that seemed to must be quick when timed again.
    for name, data in run.slow:
        assert retimed(name, data) < SLOW, f"{name} takes over {SLOW} s on {data.hex()}"


def test_fuzz_the_decoders(record_property: Callable[[str, object], None]) -> None:
    run = fuzz(seed=0, inputs=20_000)

    print(f"\n{run.summary(0)}")
    record_property("fuzz_inputs", run.inputs)
    check(run, 20_000)


@pytest.mark.long
def test_fuzz_the_decoders_long(record_property: Callable[[str, object], None]) -> None:
    run = fuzz(seed=1, inputs=1_000_000)

    print(f"\n{run.summary(1)}")
    for name, (tried, accepted) in run.per_target.items():
        print(f"  {name:24} {tried:8} inputs, {accepted:7} decoded")
    record_property("fuzz_inputs", run.inputs)
    record_property("fuzz_seconds", round(run.seconds, 1))
    check(run, 1_000_000)


def test_the_fuzzer_is_deterministic() -> None:
    first, second = fuzz(seed=5, inputs=2_000), fuzz(seed=5, inputs=2_000)

    assert first.per_target == second.per_target


# --- any bytes at all ---------------------------------------------------------------------------------------

NAMES = [name for name, _, _ in targets()]


def _decoder(name: str) -> Decoder:
    return next(decode for n, decode, _ in targets() if n == name)


@pytest.mark.parametrize("name", NAMES)
@given(data=st.binary(max_size=600))
@settings(max_examples=60)
def test_any_bytes_decode_or_fail_with_wire_error(name: str, data: bytes) -> None:
    with contextlib.suppress(WireError):
        _decoder(name)(data)


@st.composite
def bent(draw: st.DrawFn, name: str) -> bytes:
    """A valid input of `name` with a stretch of it replaced by arbitrary bytes."""
    valid = draw(st.sampled_from(next(seeds for n, _, seeds in targets() if n == name)))
    at = draw(st.integers(0, len(valid)))
    cut = draw(st.integers(0, 8))
    return valid[:at] + draw(st.binary(max_size=8)) + valid[at + cut :]


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
@settings(max_examples=60)
def test_valid_inputs_bent_decode_or_fail_with_wire_error(name: str, data: st.DataObject) -> None:
    raw = data.draw(bent(name))
    with contextlib.suppress(WireError):
        _decoder(name)(raw)


# --- lengths that claim four gigabytes ----------------------------------------------------------------------

FOUR_GB = wire.u32(0xFFFFFFFF)
CLAIMS: list[tuple[str, Decoder, bytes]] = [
    ("message body", Message.decode, REQUEST_MESSAGES[0].header()[:20] + FOUR_GB + b"x" * 64),
    ("credential", Message.decode, REQUEST_MESSAGES[1].signed_part() + FOUR_GB),
    ("envelope", unframe, bytes([2, 11, 2, 11]) + bytes(12) + FOUR_GB + b"x" * 64),
    ("handle", ResolutionRequest.decode, FOUR_GB + b"x" * 64),
    ("index list", ResolutionRequest.decode, wire.text(HANDLE) + FOUR_GB + bytes(64)),
    ("type list", ResolutionRequest.decode, wire.text(HANDLE) + wire.ints([]) + FOUR_GB + bytes(64)),
    ("value data", lambda d: Value.decode(Reader(d)), VALUES[0].encode()[:14] + wire.text("URL") + FOUR_GB),
    ("value count", lambda d: decode_values(Reader(d)), FOUR_GB + VALUES[5].encode()),
    ("references", decode_references, FOUR_GB + bytes(64)),
    ("site servers", Site.decode, EMPTY_SITE.encode()[:-4] + FOUR_GB + bytes(64)),
    ("site attributes", Site.decode, EMPTY_SITE.encode()[:-8] + FOUR_GB + bytes(64)),
    ("admin handle", Admin.decode, b"\x0f\xff" + FOUR_GB + bytes(4)),
    ("answer handle", lambda d: read_resolution(Message(1, 1, OpFlag.NONE, d)), FOUR_GB + bytes(64)),
    ("error message", lambda d: read_error(Message(1, 2, OpFlag.NONE, d)), FOUR_GB + bytes(64)),
]


@pytest.mark.parametrize(("what", "decode", "data"), CLAIMS, ids=[c[0] for c in CLAIMS])
def test_a_four_gigabyte_length_allocates_nothing(what: str, decode: Decoder, data: bytes) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(WireError):
            decode(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"{what}: {peak} bytes allocated"


def test_a_part_of_a_four_gigabyte_message_allocates_nothing() -> None:
    # An envelope built in process, not read: the reassembly itself must not size anything by the length.
    reassembly = Reassembly()
    tracemalloc.start()
    try:
        assert reassembly.add("peer", Envelope(sequence=5, length=0xFFFFFFFF), b"x" * 492) is None
        with pytest.raises(WireError):
            reassembly.add("peer", Envelope(sequence=0xFFFFFFFF, length=0xFFFFFFFF), b"x" * 492)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_the_corpus_is_valid() -> None:
    # Every input the fuzzer starts from decodes: otherwise it would mutate garbage.
    for name, decode, seeds in targets():
        if name == "Reassembly.add":
            continue  # stateful: checked below
        for data in seeds:
            decode(data)
    reassembly = Reassembly()
    whole = [reassembly.add("peer", *split_datagram(d)) for d in DATAGRAMS]
    assert [w for w in whole if w is not None] == [BIG_ANSWER, REQUEST_MESSAGES[0].encode(), b"x" * 493]
    assert ipaddress.ip_address(SITE.servers[1].address).version == 6
