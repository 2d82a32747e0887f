"""Keyed hashing and authenticated encryption of sensitive values (ID numbers).

Two suites, chosen by configuration because government systems pass a commercial-cryptography
assessment (密评) that expects the national algorithms:

- ``aes``: AES-256-GCM for values, HMAC-SHA-256 for lookup hashes;
- ``sm``:  SM4-GCM (128-bit key) for values, HMAC-SM3 for lookup hashes.

Plain Python, no Django, so the feed importers and Spark executors hash identically.
"""

from __future__ import annotations

import base64
import hmac as _stdlib_hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SUITES = ("aes", "sm")
_NONCE = 12
_TAG = 16


class ProtectError(ValueError):
    """A key is missing or malformed, or a ciphertext fails authentication."""


def generate_key() -> str:
    """A fresh random 32-byte key, urlsafe-base64, for `.env` files and the demo."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _decode_key(text: str, name: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.encode())
    except (ValueError, TypeError) as exc:
        raise ProtectError(f"{name} is not urlsafe base64") from exc
    if len(key) != 32:
        raise ProtectError(f"{name} must decode to 32 bytes, not {len(key)}")
    return key


@dataclass(frozen=True)
class Protector:
    """Hashes and encrypts with one suite and two independent keys."""

    suite: str
    hash_key: bytes
    data_key: bytes

    @classmethod
    def from_settings(cls, suite: str, hash_key: str, data_key: str) -> Protector:
        if suite not in SUITES:
            raise ProtectError(f"unknown cipher suite {suite!r}; choose one of {SUITES}")
        return cls(suite, _decode_key(hash_key, "hash key"), _decode_key(data_key, "data key"))

    # -- keyed hash: deterministic, for lookups, joins and de-duplication -------------------
    def hash(self, value: str) -> str:
        """Hex HMAC of the value; 64 hex characters for both suites."""
        h = hmac.HMAC(self.hash_key, hashes.SM3() if self.suite == "sm" else hashes.SHA256())
        h.update(value.encode())
        return h.finalize().hex()

    def hash_matches(self, value: str, digest: str) -> bool:
        return _stdlib_hmac.compare_digest(self.hash(value), digest)

    # -- authenticated encryption: random nonce, so equal values give different texts -------
    def _cipher(self, nonce: bytes, tag: bytes | None = None) -> Cipher:
        mode = modes.GCM(nonce, tag) if tag else modes.GCM(nonce)
        if self.suite == "sm":
            return Cipher(algorithms.SM4(self.data_key[:16]), mode)
        return Cipher(algorithms.AES(self.data_key), mode)

    def encrypt(self, value: str, *, context: bytes = b"") -> str:
        """`suite:base64(nonce + ciphertext + tag)`; `context` is bound as associated data."""
        return f"{self.suite}:" + base64.b64encode(self.encrypt_bytes(value.encode(), context=context)).decode()

    def encrypt_bytes(self, data: bytes, *, context: bytes = b"") -> bytes:
        """Raw `nonce + ciphertext + tag`, for files at rest (uploads awaiting import)."""
        nonce = os.urandom(_NONCE)
        enc = self._cipher(nonce).encryptor()
        enc.authenticate_additional_data(context)
        body = enc.update(data) + enc.finalize()
        return nonce + body + enc.tag

    def decrypt_bytes(self, raw: bytes, *, context: bytes = b"") -> bytes:
        if len(raw) < _NONCE + _TAG:
            raise ProtectError("ciphertext is truncated")
        nonce, body, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
        dec = self._cipher(nonce, tag).decryptor()
        dec.authenticate_additional_data(context)
        try:
            return dec.update(body) + dec.finalize()
        except InvalidTag as exc:
            raise ProtectError("ciphertext failed authentication (wrong key or tampered)") from exc

    def decrypt(self, token: str, *, context: bytes = b"") -> str:
        suite, _, payload = token.partition(":")
        if suite != self.suite:
            raise ProtectError(f"value was encrypted with suite {suite!r}, configured is {self.suite!r}")
        try:
            raw = base64.b64decode(payload.encode(), validate=True)
        except ValueError as exc:
            raise ProtectError("ciphertext is not base64") from exc
        return self.decrypt_bytes(raw, context=context).decode()
