"""A session of the native protocol spoken by hand, as the CNRI library speaks it: Diffie–Hellman in RFC
3526's group 14, the session key as the library makes it (the shared secret's first 32 bytes after its leading
zeros), requests MACed with HMAC-SHA256 over versions ‖ session ‖ request id ‖ counter ‖ header ‖ body — each
step written out from the protocol's definitions here rather than taken from the SDK."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sdk.native.codes import ENVELOPE_SIZE, EnvelopeFlag, OpCode, OpFlag
from sdk.native.message import Envelope, Message, frame

from .native_wire import read_exactly, request, tcp_ask, tcp_connect

GROUP_14 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)


def text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack(">I", len(raw)) + raw


def java(number: int) -> bytes:
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def dh_key(y: int, p: int = GROUP_14, g: int = 2) -> bytes:
    return text("DH_PUB_KEY") + b"\0\0" + text(java(y)) + text(java(p)) + text(java(g))


def setup_body(identity: tuple[str, int], key: bytes, mode: int = 4, timeout: int = 3600) -> bytes:
    """SESSION_SETUP: mode (2 bytes), timeout, identity, the key — and the 2 zero bytes the library adds."""
    return (
        struct.pack(">H", mode)
        + struct.pack(">i", timeout)
        + text(identity[0])
        + struct.pack(">i", identity[1])
        + text(key)
        + b"\0\0"
    )


def envelope_of(version: tuple[int, int], session: int, request_id: int) -> Envelope:
    major, minor = version
    return Envelope(
        major, minor, suggested_major=major, suggested_minor=minor, session_id=session, request_id=request_id
    )


@dataclass
class HandSession:
    port: int
    id: int
    key: bytes
    version: tuple[int, int] = (2, 11)
    counter: int = 1

    @classmethod
    def open(cls, port: int, identity: tuple[str, int]) -> tuple[HandSession, Envelope, Message]:
        x = secrets.randbelow(GROUP_14 - 3) + 2
        body = setup_body(identity, dh_key(pow(2, x, GROUP_14)))
        flags = OpFlag.CT | OpFlag.RD
        answer_envelope, answer = tcp_ask(
            port, request(OpCode.SESSION_SETUP, body, flags), envelope_of((2, 11), 0, 5)
        )
        assert answer.response_code == 1, answer.body
        at = 1 + 32  # the request digest (SHA-256)
        mode, length = struct.unpack_from(">HI", answer.body, at)
        assert mode == 4
        data = answer.body[at + 6 : at + 6 + length]
        assert answer.body[at + 6 + length :] == b"\0\0"
        assert struct.unpack_from(">I", data)[0] == 3  # AES
        server_y = _dh_y(data[4:])
        secret = pow(server_y, x, GROUP_14).to_bytes(256, "big")
        start = 0
        while start + 32 < len(secret) and secret[start] == 0:
            start += 1
        return cls(port, answer_envelope.session_id, secret[start : start + 32]), answer_envelope, answer

    def mac(self, message: Message, env: Envelope, counter: int) -> bytes:
        head = bytes([env.major, env.minor, env.suggested_major, env.suggested_minor])
        data = head + struct.pack(">III", env.session_id, env.request_id, counter) + message.signed_part()
        code = hmac.digest(self.key, data, hashlib.sha256)
        section = text("HMAC-SHA256") + text(code)
        return bytes(4) + text("") + struct.pack(">I", counter) + text("HS_MAC") + text(section)

    def sealed(
        self, message: Message, request_id: int, *, counter: int | None = None
    ) -> tuple[Message, Envelope]:
        if counter is None:
            counter, self.counter = self.counter, self.counter + 1
        env = envelope_of(self.version, self.id, request_id)
        return replace(message, credential=self.mac(message, env, counter)), env

    def ask(self, message: Message, request_id: int = 21) -> tuple[Envelope, Message]:
        return tcp_ask(self.port, *self.sealed(message, request_id))

    def ask_raw(self, message: Message, request_id: int) -> tuple[Envelope, bytes]:
        """The request MACed; the answer's envelope and message bytes as they came (encrypted or not)."""
        sealed, env = self.sealed(message, request_id)
        with tcp_connect(self.port) as sock:
            sock.sendall(frame(env, sealed.encode()))
            answer_envelope = Envelope.decode(read_exactly(sock, ENVELOPE_SIZE))
            return answer_envelope, read_exactly(sock, answer_envelope.length)

    def ask_encrypted(
        self, message: Message, request_id: int, key: bytes | None = None
    ) -> tuple[Envelope, bytes]:
        """The request MACed, then encrypted as the library encrypts it (an IV, AES-128-CBC, PKCS#5 padding,
        under the session key's first 16 bytes); the answer's envelope and its message bytes, as they came."""
        sealed, env = self.sealed(message, request_id)
        iv = secrets.token_bytes(16)
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES((key or self.key)[:16]), modes.CBC(iv)).encryptor()
        plain = padder.update(sealed.encode()) + padder.finalize()
        ciphertext = iv + encryptor.update(plain) + encryptor.finalize()
        with tcp_connect(self.port) as sock:
            sock.sendall(frame(replace(env, flags=EnvelopeFlag.EC), ciphertext))
            answer_envelope = Envelope.decode(read_exactly(sock, ENVELOPE_SIZE))
            return answer_envelope, read_exactly(sock, answer_envelope.length)

    def decrypted(self, data: bytes) -> Message:
        decryptor = Cipher(algorithms.AES(self.key[:16]), modes.CBC(data[:16])).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        plain = decryptor.update(data[16:]) + decryptor.finalize()
        return Message.decode(unpadder.update(plain) + unpadder.finalize())


def _dh_y(key: bytes) -> int:
    at = 4 + len(b"DH_PUB_KEY") + 2
    length = struct.unpack_from(">I", key, at)[0]
    return int.from_bytes(key[at + 4 : at + 4 + length], "big")
