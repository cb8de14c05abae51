"""AES-256-GCM key ring for tokens at rest: ciphertexts name their key; writes use the primary."""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = "v1"
NONCE_BYTES = 12  # the GCM standard size; random per encryption (RELIABILITY §4.1)


class KeyRingError(ValueError):
    """The key ring configuration is unusable (bad JSON, wrong key size, unknown primary)."""


class DecryptionError(Exception):
    """A ciphertext could not be opened: unknown key id, tampering, or bound to another row.

    The message never contains the ciphertext or any plaintext.
    """


@dataclass(frozen=True)
class Sealed:
    """The parts of a stored ciphertext string "v1:<key id>:<nonce b64>:<ct b64>"."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    @classmethod
    def parse(cls, text: str) -> Sealed:
        parts = text.split(":")
        if len(parts) != 4 or parts[0] != FORMAT_VERSION:
            raise DecryptionError("not a v1 token ciphertext")
        try:
            nonce = base64.b64decode(parts[2], validate=True)
            body = base64.b64decode(parts[3], validate=True)
        except binascii.Error as exc:
            raise DecryptionError("malformed ciphertext encoding") from exc
        return cls(parts[1], nonce, body)

    def render(self) -> str:
        nonce = base64.b64encode(self.nonce).decode()
        return (
            f"{FORMAT_VERSION}:{self.key_id}:{nonce}:{base64.b64encode(self.ciphertext).decode()}"
        )


def token_aad(tenant_id: str, kind: str) -> bytes:
    """Associated data binding a ciphertext to its row and column.

    A ciphertext copied into another tenant's row (or from the access to the refresh column)
    then fails authentication instead of silently handing out someone else's token.
    """
    return f"qbsync-token|{kind}|{tenant_id}".encode()


class KeyRing:
    """Named 256-bit keys; `primary` encrypts, any key in the ring decrypts."""

    def __init__(self, keys: Mapping[str, bytes], primary: str) -> None:
        if not keys:
            raise KeyRingError("the key ring has no keys")
        for key_id, key in keys.items():
            if not key_id or ":" in key_id:
                raise KeyRingError(f"invalid key id {key_id!r}")
            if len(key) != 32:
                raise KeyRingError(f"key {key_id!r} must be 32 bytes (AES-256), got {len(key)}")
        if primary not in keys:
            raise KeyRingError(f"primary key {primary!r} is not in the ring")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.primary = primary

    @classmethod
    def from_json(cls, raw: str) -> KeyRing:
        """Parse `{"keys": {"k1": "<base64 of 32 bytes>", ...}, "primary": "k1"}`."""
        try:
            doc = json.loads(raw)
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in doc["keys"].items()}
            primary = str(doc["primary"])
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            # The exception text could echo key material: report only its type.
            raise KeyRingError(f"malformed key ring JSON ({type(exc).__name__})") from None
        return cls(keys, primary)

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        body = self._ciphers[self.primary].encrypt(nonce, plaintext.encode(), aad)
        return Sealed(self.primary, nonce, body).render()

    def decrypt(self, text: str, aad: bytes) -> str:
        sealed = Sealed.parse(text)
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise DecryptionError(f"key {sealed.key_id!r} is not in the key ring")
        try:
            return cipher.decrypt(sealed.nonce, sealed.ciphertext, aad).decode()
        except InvalidTag:
            raise DecryptionError("ciphertext failed authentication") from None

    def is_current(self, text: str) -> bool:
        """Whether a ciphertext is already under the primary key (rekey skips it)."""
        return Sealed.parse(text).key_id == self.primary


def generate_key() -> str:
    """A fresh base64 key for the ring (or: `openssl rand -base64 32`)."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()
