"""Key pairs for the public-key tests, and a client's side of the Handle REST challenge–response, written
with `cryptography` directly (not the SDK's code)."""

from __future__ import annotations

import base64
import functools
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ed25519, padding, rsa

KINDS = ["RSA", "DSA", "Ed25519"]


@functools.cache
def private_key(kind: str, n: int = 0) -> Any:
    """Key `n` of a kind, made once per test run (DSA parameters take a while)."""
    del n  # only tells keys apart in the cache
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "DSA":
        return dsa.generate_private_key(key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def public_pem(private: Any) -> bytes:
    return bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def write_keys(private: Any, folder: Path, *, password: bytes | None = None) -> tuple[Path, Path]:
    """The key pair as PEM files, as openssl writes them: (public, private)."""
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    secret = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public, private_file = folder / "key.pub.pem", folder / "key.pem"
    public.write_bytes(public_pem(private))
    private_file.write_bytes(secret)
    return public, private_file


def sign(private: Any, data: bytes, algorithm: hashes.HashAlgorithm | None = None) -> bytes:
    chosen = algorithm or hashes.SHA256()
    if isinstance(private, rsa.RSAPrivateKey):
        return private.sign(data, padding.PKCS1v15(), chosen)
    if isinstance(private, dsa.DSAPrivateKey):
        return private.sign(data, chosen)
    return bytes(private.sign(data))


def answer(session_id: str, nonce: str, user: str, private: Any, *, alg: str = "SHA256") -> str:
    """`Authorization: Handle …` answering the challenge of a session (its id and base64 nonce)."""
    cnonce = os.urandom(16)
    algorithm = hashes.SHA1() if alg == "SHA1" else hashes.SHA256()
    signature = sign(private, base64.b64decode(nonce) + cnonce, algorithm)
    return (
        f'Handle sessionId="{session_id}", id="{user}", type="HS_PUBKEY", '
        f'cnonce="{base64.b64encode(cnonce).decode()}", alg="{alg}", '
        f'signature="{base64.b64encode(signature).decode()}"'
    )
