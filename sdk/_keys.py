"""Authenticating with a private key: the Handle REST challenge–response, and writes over Handle REST.

`Signer` holds the private key (RSA, DSA or Ed25519, a PEM file, optionally encrypted) of an administrator
`300:0.NA/88.118.8` whose HS_PUBKEY value the node holds, and answers a session's challenge: it signs the
session's nonce followed by a nonce of its own (SHA256; RSA PKCS#1 v1.5). `KeyCore` is the core of a client
that authenticates so: it opens a session (`POST /api/sessions`, `PUT /api/sessions/this` with the answer),
sends the session id with every Handle REST call, and opens another when the node answers 401 (the session
expired, or the key changed). As SNMS knows no keys, its writes go over Handle REST: a create is
`PUT ?overwrite=false`, an update `PUT ?index=various` then `DELETE ?index=` of the business values it
drops (two calls, where SNMS makes one), a batch one PUT per record. Template indexes are read over SNMS, so
values given by type with a template version need the secret as well.

`cryptography` is imported here only, when a key is used.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import _errors as errors
from ._core import Call, Core, Op, Reply, Values, Write, _raise_for, _values_back, handle_path
from ._models import TEMPLATE_INDEX, HandleValue, WriteResult

KEY_INDEX = 300
_VALUES_NOT_FOUND, _HANDLE_EXISTS = 200, 101


def administrator(username: str, key_index: int | None) -> str:
    """`index:handle` of a key's administrator: `username`'s own index, or `key_index`, or 300."""
    head, colon, handle = username.partition(":")
    if not (colon and head.isdigit()):
        head, handle = str(KEY_INDEX), username
    return f"{key_index if key_index is not None else head}:{handle}"


class Signer:
    """A private key and the administrator (`index:handle`) whose HS_PUBKEY value it answers for."""

    def __init__(self, key_file: str | Path, user: str, *, password: str | bytes | None = None) -> None:
        from cryptography.hazmat.primitives import serialization

        secret = password.encode() if isinstance(password, str) else password
        try:
            self._key: Any = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=secret)
        except (ValueError, TypeError) as exc:
            raise errors.AuthenticationError(f"cannot read the private key {key_file}: {exc}") from None
        self.user = user

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import dsa, ed25519, padding, rsa

        if isinstance(self._key, rsa.RSAPrivateKey):
            return bytes(self._key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
        if isinstance(self._key, dsa.DSAPrivateKey):
            return bytes(self._key.sign(data, hashes.SHA256()))
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            return bytes(self._key.sign(data))
        raise errors.AuthenticationError("the private key is not RSA, DSA or Ed25519")

    def answer(self, session_id: str, nonce: str) -> str:
        """The `Authorization: Handle …` that answers the challenge of a session (its id and nonce)."""
        cnonce = os.urandom(16)
        signature = self.sign(base64.b64decode(nonce) + cnonce)
        fields = {
            "sessionId": session_id,
            "id": quote(self.user, safe=":/."),
            "type": "HS_PUBKEY",
            "cnonce": base64.b64encode(cnonce).decode(),
            "alg": "SHA256",
            "signature": base64.b64encode(signature).decode(),
        }
        return "Handle " + ", ".join(f'{name}="{value}"' for name, value in fields.items())


def _is_business(index: int) -> bool:
    return index == TEMPLATE_INDEX or index >= 2000


def _code(reply: Reply) -> Any:
    return reply.body.get("responseCode") if isinstance(reply.body, dict) else None


class KeyCore(Core):
    """The core of a client that proves itself with a private key (see the module docstring)."""

    def __init__(self, signer: Signer, *, secret: str | None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(username=signer.user, secret=secret, clock=clock)
        self._signer = signer
        self._session: str | None = None

    # -- the session --------------------------------------------------------------------------------------

    def _log_in(self) -> Op[str]:
        opened = yield Call("POST", "/api/sessions")
        _raise_for(opened.status, opened.body)
        answer = self._signer.answer(str(opened.body["sessionId"]), str(opened.body["nonce"]))
        reply = yield Call("PUT", "/api/sessions/this", headers={"Authorization": answer})
        _raise_for(reply.status, reply.body)
        if not reply.body.get("authenticated"):
            raise errors.AuthenticationError(str(reply.body.get("error") or "the node did not authenticate"))
        return str(reply.body["sessionId"])

    def _handle_rest(self, call: Call) -> Op[Reply]:
        for attempt in (1, 2):
            if self._session is None:
                self._session = yield from self._log_in()
            headers = {"Authorization": f'Handle sessionId="{self._session}"'}
            reply = yield replace(call, headers=headers)
            if reply.status != 401 or attempt == 2:
                return reply
            self._session = None  # expired, or the key changed: a new session, once
        raise AssertionError("unreachable")

    def _indexes(self, handle: str, template_version: str) -> Op[dict[str, int]]:
        if not self._secret:
            raise errors.AuthenticationError(
                "values by type need their template's indexes, read over SNMS with a secret; "
                "with a key alone give a list of HandleValue",
                handle=handle,
            )
        return (yield from super()._indexes(handle, template_version))

    # -- writes over Handle REST --------------------------------------------------------------------------

    def _values(self, handle: str, values: Values, template_version: str | None) -> Op[list[HandleValue]]:
        resolved = yield from self._resolved_values(handle, values, template_version)
        template = [HandleValue(TEMPLATE_INDEX, "TEMPLATE", template_version)] if template_version else []
        return template + [v for v in resolved if v.index != TEMPLATE_INDEX]

    def register(self, handle: str, values: Values, template_version: str | None) -> Op[WriteResult]:
        fresh = yield from self._values(handle, values, template_version)
        body = [v.to_json() for v in fresh]
        reply = yield from self._handle_rest(
            Call("PUT", handle_path(handle), (("overwrite", "false"),), body)
        )
        if reply.status == 409 and _code(reply) == _HANDLE_EXISTS:
            business = [v.to_json() for v in fresh if v.index != TEMPLATE_INDEX]
            yield from self._check_same(handle, {"value": business, "templateVersion": template_version})
            return WriteResult(handle, "existed")
        _raise_for(reply.status, reply.body, handle)
        return WriteResult(handle, "created")

    def update(self, handle: str, values: Values, template_version: str | None) -> Op[WriteResult]:
        fresh = yield from self._values(handle, values, template_version)
        current = yield from self.resolve(handle)
        if current is None:
            raise errors.NotFoundError(f"{handle} does not exist", handle=handle)
        params = (("index", "various"), ("overwrite", "true"))
        body = [v.to_json() for v in fresh]
        reply = yield from self._handle_rest(Call("PUT", handle_path(handle), params, body))
        _raise_for(reply.status, reply.body, handle)
        kept = {v.index for v in fresh}
        stale = [v.index for v in current.values if _is_business(v.index) and v.index not in kept]
        yield from self._remove(handle, stale)
        return WriteResult(handle, "updated")

    def _remove(self, handle: str, indexes: Sequence[int]) -> Op[None]:
        if not indexes:
            return
        params = tuple(("index", str(index)) for index in indexes)
        reply = yield from self._handle_rest(Call("DELETE", handle_path(handle), params))
        if not (reply.attempt > 1 and _code(reply) == _VALUES_NOT_FOUND):  # else an earlier send did it
            _raise_for(reply.status, reply.body, handle)

    def delete(self, handle: str) -> Op[WriteResult]:
        reply = yield from self._handle_rest(Call("DELETE", handle_path(handle)))
        if reply.status == 404 and reply.attempt > 1:
            return WriteResult(handle, "deleted")  # an earlier send did it; only its answer was lost
        _raise_for(reply.status, reply.body, handle)
        return WriteResult(handle, "deleted")

    def register_chunk(self, writes: Sequence[Write]) -> Op[list[WriteResult]]:
        """Each record with a PUT of its own (Handle REST has no batch create), each with its result."""
        results: list[WriteResult] = []
        for write in writes:
            try:
                values = _values_back(write.values)
                results.append((yield from self.register(write.handle, values, write.template_version)))
            except errors.RequestError as exc:
                results.append(WriteResult(write.handle, "failed", exc.message))
            except (errors.NotFoundError, errors.ForbiddenError) as exc:
                results.append(WriteResult(write.handle, "failed", exc.message))
        return results
