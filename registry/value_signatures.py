"""Value signatures: HS_SIGNATURE values over a record's other values, made by an enterprise's key and
trusted through HS_CERT certificates that lead to a key of the node.

A record's HS_SIGNATURE value (index 400 unless told otherwise) holds a JWS whose claims (`trust.py`) digest
the record's publicly readable values other than signatures; its issuer is the value reference of the
signer's key (`301:0.NA/88.118.8`). The signer's key is trusted when the signer's handle (or the handle its
`chain` names) holds an HS_CERT about it, issued — directly or through further certificates — by a key the
verifier trusts: the node's published keys (HS_PUBKEY at 310–319 of `0.NA/<node prefix>`), each
certificate's `perms` covering the signed handle. The node issues such a certificate for an enterprise's
key with `certify_key` (`idnode enterprise certify-key`).

Verification fails closed: every publicly readable value must be covered by a signature that verifies,
through a chain that verifies, within its time, or `SignatureInvalid` says what is wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .errors import SignatureInvalid
from .signing import Jws, KeyPair, PublicKey, public_key_from_jwk
from .trust import (
    CERT_INDEX,
    DIGEST_ALGS,
    HS_CERT,
    HS_SIGNATURE,
    SIGNATURE_INDEX,
    authorises,
    cert_claims,
    check_time,
    digests,
    handle_of,
    same_handle,
    sign_claims,
    values_claims,
)
from .values import DEFAULT_PERMISSIONS, HandleValue, StringData, publicly_readable

MAX_CHAIN: Final = 8
SIGNATURE_LIFETIME: Final = 5 * 365 * 86_400  # a record's signature lasts as long as its values
CERT_LIFETIME: Final = 2 * 365 * 86_400

Lookup = Callable[[str], Awaitable[Sequence[Mapping[str, Any]] | None]]


def covered(values: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The values a signature covers: those anyone may read, signatures aside."""
    return [
        v
        for v in values
        if v["type"] != HS_SIGNATURE
        and publicly_readable(v["type"], v.get("permissions", DEFAULT_PERMISSIONS))
    ]


def sign_values(
    handle: str, values: Sequence[HandleValue], key: KeyPair, issuer: str, *, now: int,
    index: int = SIGNATURE_INDEX, lifetime: int = SIGNATURE_LIFETIME,
) -> HandleValue:  # fmt: skip
    """The HS_SIGNATURE value that signs `values` of `handle` with `key`, named `issuer` (`index:handle`)."""
    claims = values_claims(
        issuer, handle, covered([v.to_json() for v in values]), alg=key.alg, now=now, lifetime=lifetime
    )
    return HandleValue(index, HS_SIGNATURE, StringData(sign_claims(claims, key)), timestamp=now)


def certify_key(
    prefix: str, subject: str, public: PublicKey, signer: KeyPair, issuer: str, *, now: int,
    index: int = CERT_INDEX, lifetime: int = CERT_LIFETIME,
) -> HandleValue:  # fmt: skip
    """The HS_CERT value (for `0.NA/<prefix>`) in which `issuer` vouches that `subject`'s key is `public`,
    for the handles under `prefix`."""
    perms = [{"handle": f"0.NA/{prefix}", "perm": "handlesUnderThisPrefix"}]
    claims = cert_claims(issuer, subject, public.jwk, perms, now=now, lifetime=lifetime)
    return HandleValue(index, HS_CERT, StringData(sign_claims(claims, signer)), timestamp=now)


@dataclass(frozen=True, slots=True)
class SignatureReport:
    """Who signed which values of a record."""

    handle: str
    signed: dict[int, str]  # index → the issuer whose signature covers it


def _text(value: Mapping[str, Any]) -> str:
    data = value.get("data")
    return data if isinstance(data, str) else str((data or {}).get("value", ""))


async def _certificate(issuer: str, chain: Sequence[str], lookup: Lookup) -> Jws:
    """The newest HS_CERT about `issuer`, in the handle `chain` names first, else in the issuer's handle."""
    where = handle_of(chain[0]) if chain else handle_of(issuer)
    found: tuple[int, Jws] | None = None
    for value in await lookup(where) or ():
        if value["type"] != HS_CERT:
            continue
        try:
            jws = Jws.parse(_text(value))
            claims = jws.claims()
        except SignatureInvalid:
            continue
        if claims.get("sub") == issuer and (found is None or int(claims.get("iat", 0)) > found[0]):
            found = (int(claims.get("iat", 0)), jws)
    if found is None:
        raise SignatureInvalid(f"no certificate vouches for the key of {issuer}")
    return found[1]


async def issuer_key(
    claims: Mapping[str, Any], handle: str, lookup: Lookup, trusted: Mapping[str, PublicKey], now: float
) -> PublicKey:
    """The key that must have made a signature with `claims` over `handle`: a trusted key, or one that a
    chain of certificates, each valid and each covering `handle`, leads to from a trusted key."""
    issuer, chain = str(claims.get("iss", "")), list(claims.get("chain") or [])
    steps: list[Jws] = []
    while issuer not in trusted:
        if len(steps) >= MAX_CHAIN:
            raise SignatureInvalid("the certificate chain is too long")
        cert = await _certificate(issuer, chain, lookup)
        steps.append(cert)
        cert_claims_ = cert.claims()
        if not authorises(cert_claims_.get("perms"), handle):
            raise SignatureInvalid(f"the certificate of {issuer} does not cover {handle}")
        chain = chain[1:] if chain else list(cert_claims_.get("chain") or [])
        issuer = str(cert_claims_.get("iss", ""))
        if issuer == cert_claims_.get("sub"):
            raise SignatureInvalid("the chain ends in a self-signed certificate this verifier does not trust")
    key = trusted[issuer]
    for cert in reversed(steps):  # from the trusted key down to the signer's
        cert.check(key)
        check_time(cert.claims(), now)
        key = public_key_from_jwk(cert.claims().get("publicKey"))
    return key


async def verify_values(
    handle: str, values: Sequence[Mapping[str, Any]], lookup: Lookup, trusted: Mapping[str, PublicKey], *,
    now: float,
) -> SignatureReport:  # fmt: skip
    """Check a record's value signatures; raise `SignatureInvalid` unless every value anyone may read is
    covered by one that verifies."""
    wanted = covered(values)
    by_index = {v["index"]: v for v in wanted}
    signed: dict[int, str] = {}
    problems: list[str] = []
    for value in values:
        if value["type"] != HS_SIGNATURE:
            continue
        try:
            signed |= await _one(handle, _text(value), by_index, lookup, trusted, now)
        except SignatureInvalid as exc:
            problems.append(f"index {value['index']}: {exc.message}")
    unsigned = sorted(set(by_index) - set(signed))
    if unsigned:
        why = "; ".join(problems) or "the record carries no HS_SIGNATURE"
        raise SignatureInvalid(
            f"the values at index {unsigned} of {handle} are not signed ({why})", handle=handle
        )
    return SignatureReport(handle, signed)


async def _one(
    handle: str, token: str, by_index: Mapping[int, Mapping[str, Any]], lookup: Lookup,
    trusted: Mapping[str, PublicKey], now: float,
) -> dict[int, str]:  # fmt: skip
    jws = Jws.parse(token)
    claims = jws.claims()
    if not same_handle(str(claims.get("sub", "")), handle):
        raise SignatureInvalid(f"the signature is about {claims.get('sub')}, not {handle}")
    jws.check(await issuer_key(claims, handle, lookup, trusted, now))
    check_time(claims, now)
    claimed = claims.get("digests")
    if not isinstance(claimed, Mapping) or claimed.get("alg") not in DIGEST_ALGS:
        raise SignatureInvalid("the signature digests no values with a hash known here")
    wanted: dict[Any, Any] = {
        d.get("index"): d.get("digest") for d in claimed.get("digests") or () if isinstance(d, Mapping)
    }
    present = [by_index[i] for i in wanted if i in by_index]
    actual: dict[Any, Any] = {
        d["index"]: d["digest"] for d in digests(present, str(claimed.get("alg")))["digests"]
    }
    if set(wanted) - set(actual) or any(actual[i] != wanted[i] for i in actual):
        bad = sorted((i for i in wanted if actual.get(i) != wanted[i]), key=str)
        raise SignatureInvalid(f"the values at index {bad} changed since they were signed")
    return {i: str(claims["iss"]) for i in actual}
