"""HS_PUBKEY keys: the Handle System's binary form, the JWK of Handle REST, PEM files, and signatures."""

from __future__ import annotations

import contextlib
import struct

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from registry import InvalidValue, pubkeys
from registry.pubkeys import DsaKey, Ed25519Key, RsaKey
from tests.keys import KINDS, private_key, public_pem, sign

# -- the binary form, byte for byte as Handle.Net writes it -------------------------------------------------


def test_an_rsa_key_is_written_as_handle_net_writes_it() -> None:
    key = RsaKey(n=(1 << 2047) + 12345, e=65537)

    raw = key.to_bytes()

    modulus = b"\x00" + key.n.to_bytes(256, "big")  # Java's toByteArray: a sign byte, as the top bit is set
    expected = (
        struct.pack(">I", 11) + b"RSA_PUB_KEY" + b"\x00\x00"
        + struct.pack(">I", 3) + b"\x01\x00\x01"
        + struct.pack(">I", 257) + modulus
    )  # fmt: skip
    assert raw == expected
    assert pubkeys.from_bytes(raw) == key


def test_a_dsa_key_is_q_p_g_y_in_that_order() -> None:
    key = pubkeys.from_crypto(private_key("DSA").public_key())
    assert isinstance(key, DsaKey)

    raw = key.to_bytes()

    assert raw.startswith(struct.pack(">I", 11) + b"DSA_PUB_KEY\x00\x00")
    q_length = struct.unpack(">I", raw[17:21])[0]
    assert int.from_bytes(raw[21 : 21 + q_length], "big") == key.q


def test_an_ed25519_key_is_its_32_bytes_after_idnodes_type_name() -> None:
    raw = pubkeys.from_crypto(private_key("Ed25519").public_key()).to_bytes()

    assert raw[:19] == struct.pack(">I", 15) + b"ED25519_PUB_KEY"
    assert len(raw) == 4 + 15 + 2 + 4 + 32


def test_leading_zero_bytes_and_trailing_data_are_read_as_handle_net_reads_them() -> None:
    padded = RsaKey((1 << 1023) + 1, 3).to_bytes() + b"trailing"

    assert pubkeys.from_bytes(padded) == RsaKey((1 << 1023) + 1, 3)


rsa_keys = st.builds(
    RsaKey, st.integers(min_value=1 << 511, max_value=(1 << 16384) - 1), st.integers(0, (1 << 64) - 1)
)
dsa_keys = st.builds(DsaKey, *(st.integers(min_value=0, max_value=(1 << 4096) - 1) for _ in range(4)))
ed_keys = st.builds(Ed25519Key, st.binary(min_size=32, max_size=32))
keys = rsa_keys | dsa_keys | ed_keys


@given(keys)
def test_every_key_round_trips_through_its_binary_form(key: pubkeys.PublicKey) -> None:
    assert pubkeys.from_bytes(key.to_bytes()) == key


@given(keys)
def test_every_key_round_trips_through_its_jwk(key: pubkeys.PublicKey) -> None:
    jwk = key.to_jwk()

    assert pubkeys.from_jwk(jwk) == key
    assert all("=" not in part and "+" not in part and "/" not in part for part in jwk.values())


@given(st.binary(max_size=300))
def test_any_bytes_are_a_key_or_invalid_value(raw: bytes) -> None:
    with contextlib.suppress(InvalidValue):
        pubkeys.from_bytes(raw)


@given(
    st.dictionaries(st.sampled_from(["kty", "n", "e", "p", "q", "g", "y", "x", "crv"]), st.text(max_size=40))
)
def test_any_object_is_a_jwk_or_invalid_value(obj: dict[str, str]) -> None:
    with contextlib.suppress(InvalidValue):
        pubkeys.from_jwk(obj)


# -- JWK as Handle.Net writes and reads it ------------------------------------------------------------------


def test_an_rsa_jwk_is_kty_n_e_in_unpadded_base64url() -> None:
    jwk = pubkeys.from_crypto(private_key("RSA").public_key()).to_jwk()

    assert list(jwk) == ["kty", "n", "e"]
    assert jwk["e"] == "AQAB"


def test_a_dsa_jwk_is_kty_y_p_q_g() -> None:
    assert list(pubkeys.from_crypto(private_key("DSA").public_key()).to_jwk()) == ["kty", "y", "p", "q", "g"]


def test_an_ed25519_jwk_is_rfc_8037s() -> None:
    jwk = pubkeys.from_crypto(private_key("Ed25519").public_key()).to_jwk()

    assert (jwk["kty"], jwk["crv"], len(jwk["x"])) == ("OKP", "Ed25519", 43)


def test_a_jwk_with_other_members_is_read_as_handle_net_reads_it() -> None:
    key = pubkeys.from_crypto(private_key("RSA").public_key())
    jwk = key.to_jwk()

    assert pubkeys.from_jwk({**jwk, "kty": "rsa", "kid": "k1", "use": "sig"}) == key
    with pytest.raises(InvalidValue):
        pubkeys.from_jwk({**jwk, "n": jwk["n"] + "=="})  # JWK members are unpadded base64url
    with pytest.raises(InvalidValue):
        pubkeys.from_jwk({**jwk, "n": "/" + jwk["n"][1:]})  # nor standard base64


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},  # a 17-bit modulus
        {"kty": "RSA", "e": "AQAB"},
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "X25519", "x": "A" * 43},
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
        {"kty": "DSA", "y": 5, "p": "AQ", "q": "AQ", "g": "AQ"},
        "RSA",
    ],
)
def test_what_is_not_an_rsa_dsa_or_ed25519_key_is_refused(jwk: object) -> None:
    with pytest.raises(InvalidValue):
        pubkeys.from_jwk(jwk)


# -- PEM files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_pem_public_key_is_read(kind: str) -> None:
    private = private_key(kind)

    assert pubkeys.from_pem(public_pem(private)) == pubkeys.from_crypto(private.public_key())


def test_a_private_key_or_an_ec_key_is_not_a_public_key_file() -> None:
    private_pem = private_key("Ed25519").private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ec_pem = public_pem(ec.generate_private_key(ec.SECP256R1()))

    with pytest.raises(InvalidValue):
        pubkeys.from_pem(private_pem)
    with pytest.raises(InvalidValue):
        pubkeys.from_pem(ec_pem)


# -- signatures ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("alg", "algorithm"), [("SHA256", hashes.SHA256()), ("SHA1", hashes.SHA1())])
def test_a_signature_over_the_data_verifies_and_over_other_data_does_not(
    kind: str, alg: str, algorithm: hashes.HashAlgorithm
) -> None:
    private = private_key(kind)
    key = pubkeys.from_crypto(private.public_key())
    signature = sign(private, b"nonce" + b"cnonce", algorithm)

    assert pubkeys.verifies(key, signature, b"nonce" + b"cnonce", alg)
    assert not pubkeys.verifies(key, signature, b"nonce" + b"other", alg)
    assert not pubkeys.verifies(key, signature[:-1] + bytes([signature[-1] ^ 1]), b"noncecnonce", alg)


def test_a_signature_by_another_key_does_not_verify() -> None:
    signature = sign(private_key("RSA", 1), b"data", hashes.SHA256())

    assert not pubkeys.verifies(
        pubkeys.from_crypto(private_key("RSA").public_key()), signature, b"data", "SHA-256"
    )


def test_a_key_cryptography_cannot_use_verifies_nothing_and_an_unknown_alg_is_refused() -> None:
    even_exponent = RsaKey(n=(1 << 2047) + 1, e=4)

    assert not pubkeys.verifies(even_exponent, b"\x01" * 256, b"data", "SHA256")
    with pytest.raises(InvalidValue):
        pubkeys.verifies(even_exponent, b"", b"data", "MD5")
