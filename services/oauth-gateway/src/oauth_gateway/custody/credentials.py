"""Per-service credentials of the internal token API (QBSYNC_SERVICE_CREDENTIALS)."""

from __future__ import annotations

import hashlib
import hmac
import json


class ServiceCredentials:
    """Maps a presented bearer secret to the qbsync service that owns it."""

    def __init__(self, secrets: dict[str, str]) -> None:
        for service, secret in secrets.items():
            if len(secret) < 16:
                raise ValueError(f"credential of service {service!r} is shorter than 16 characters")
        # Compare digests: equal-length inputs keep compare_digest constant-time for any secret.
        self._digests = [(service, _digest(secret)) for service, secret in secrets.items()]

    @classmethod
    def from_json(cls, raw: str) -> ServiceCredentials:
        try:
            doc = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise ValueError("QBSYNC_SERVICE_CREDENTIALS is not valid JSON") from None
        if not isinstance(doc, dict):
            raise ValueError('QBSYNC_SERVICE_CREDENTIALS must be {"service": "secret"}')
        return cls({str(k): str(v) for k, v in doc.items()})

    def identify(self, presented: str) -> str | None:
        """The service name for a secret, else None; checks every entry (no timing hint)."""
        candidate = _digest(presented)
        found: str | None = None
        for service, digest in self._digests:
            if hmac.compare_digest(candidate, digest):
                found = service
        return found


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
