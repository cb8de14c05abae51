"""Token custody values: what Intuit grants, what we store, what services are handed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


def fingerprint(token: str) -> str:
    """SHA-256 hex of a token: what services send back after a 401, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenGrant:
    """A successful answer of Intuit's token endpoint, parsed from its JSON."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    x_refresh_token_expires_in: int
    x_refresh_token_hard_expires_in: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenGrant:
        hard = data.get("x_refresh_token_hard_expires_in")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            expires_in=int(data["expires_in"]),
            x_refresh_token_expires_in=int(data["x_refresh_token_expires_in"]),
            x_refresh_token_hard_expires_in=int(hard) if hard is not None else None,
        )


@dataclass(frozen=True)
class StoredTokens:
    """One tenant's decrypted token row (lives only in memory, only as long as a request)."""

    tenant_id: str
    realm_id: str
    access_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_token: str = field(repr=False)
    refresh_expires_at: datetime
    refresh_hard_expires_at: datetime | None
    refreshed_at: datetime
    generation: int
    last_failure_at: datetime | None = None
    reauth_required_at: datetime | None = None

    def after_refresh(self, grant: TokenGrant, now: datetime) -> StoredTokens:
        """The row as it will be once a refresh answered by Intuit is committed."""
        return StoredTokens(
            tenant_id=self.tenant_id,
            realm_id=self.realm_id,
            access_token=grant.access_token,
            access_expires_at=now + timedelta(seconds=grant.expires_in),
            refresh_token=grant.refresh_token,
            refresh_expires_at=now + timedelta(seconds=grant.x_refresh_token_expires_in),
            refresh_hard_expires_at=hard_expiry(grant, now, self.refresh_hard_expires_at),
            refreshed_at=now,
            generation=self.generation + 1,
        )

    @classmethod
    def initial(
        cls, tenant_id: str, realm_id: str, grant: TokenGrant, now: datetime
    ) -> StoredTokens:
        return cls(
            tenant_id=tenant_id,
            realm_id=realm_id,
            access_token=grant.access_token,
            access_expires_at=now + timedelta(seconds=grant.expires_in),
            refresh_token=grant.refresh_token,
            refresh_expires_at=now + timedelta(seconds=grant.x_refresh_token_expires_in),
            refresh_hard_expires_at=hard_expiry(grant, now, None),
            refreshed_at=now,
            generation=1,
        )


def hard_expiry(grant: TokenGrant, now: datetime, known: datetime | None) -> datetime | None:
    # Intuit sends the hard expiry only when asked; keep what we knew if it is absent.
    if grant.x_refresh_token_hard_expires_in is None:
        return known
    return now + timedelta(seconds=grant.x_refresh_token_hard_expires_in)


@dataclass(frozen=True)
class IssuedToken:
    """What a qbsync service is handed: never the refresh token."""

    access_token: str = field(repr=False)
    realm_id: str
    api_base_url: str
    expires_at: datetime

    @property
    def sha256(self) -> str:
        return fingerprint(self.access_token)
