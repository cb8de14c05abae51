"""Operator API keys for services' HTTP APIs: Bearer or X-API-Key, sha256 digests, constant time.

Same convention as the gateway: QBSYNC_OPERATOR_API_KEYS holds the accepted keys (comma-separated
or a JSON list); only their digests are kept in memory after start-up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable

from fastapi import HTTPException, Request


def parse_keys(raw: str) -> list[str]:
    """Keys from the env var's text: a JSON list, or comma-separated; blanks dropped."""
    text = raw.strip()
    if text.startswith("["):
        loaded = json.loads(text)
        if not isinstance(loaded, list):
            raise ValueError("QBSYNC_OPERATOR_API_KEYS must be a JSON list or comma-separated")
        return [str(k).strip() for k in loaded if str(k).strip()]
    return [k.strip() for k in text.split(",") if k.strip()]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class OperatorKeys:
    """The accepted keys, kept as digests; `accepts` checks every entry so timing tells nothing."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [_digest(k) for k in keys if k]

    def accepts(self, presented: str) -> bool:
        if not presented:
            return False
        candidate = _digest(presented)
        found = False
        for digest in self._digests:
            found |= hmac.compare_digest(candidate, digest)
        return found


def presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    return request.headers.get("x-api-key", "").strip()


def require_operator(keys: OperatorKeys) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency refusing requests without an accepted operator API key."""

    async def dependency(request: Request) -> None:
        if not keys.accepts(presented_key(request)):
            raise HTTPException(
                status_code=401,
                detail="a valid operator API key is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return dependency
