"""Intuit's webhook signature: base64(HMAC-SHA256(verifier token, raw body)), constant-time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


def sign(verifier_token: str, body: bytes) -> str:
    return base64.b64encode(
        hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    ).decode()


def is_authentic(verifier_token: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is Intuit's signature of exactly these bytes (not re-serialized JSON)."""
    if not header or not verifier_token:
        return False
    try:
        presented = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(presented, expected)
