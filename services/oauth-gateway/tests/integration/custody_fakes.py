"""In-memory stand-ins for custody tests: an Intuit token endpoint and an event recorder."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from oauth_gateway.custody.intuit import IntuitOAuth, IntuitUnavailable, InvalidGrant
from oauth_gateway.custody.model import TokenGrant


class FakeIntuit(IntuitOAuth):
    """Refresh tokens rotate on every refresh; the previous one dies (Intuit's 0 h grace)."""

    def __init__(self, *, delay: float = 0.0) -> None:
        super().__init__("http://unused", "client", "secret", "http://unused/cb")
        self.valid_refresh: dict[str, str] = {}  # refresh token -> grant id
        self.refresh_calls = 0
        self.revoked: list[str] = []
        self.delay = delay
        self.fail_next = 0
        self.fail_revokes = 0

    def grant(self) -> TokenGrant:
        grant_id = secrets.token_hex(4)
        return self._issue(grant_id)

    def _issue(self, grant_id: str) -> TokenGrant:
        refresh = f"RT-{secrets.token_urlsafe(24)}"
        self.valid_refresh[refresh] = grant_id
        return TokenGrant(f"AT-{secrets.token_urlsafe(24)}", refresh, 3600, 8_640_000, 157_680_000)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        self.refresh_calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise IntuitUnavailable("token endpoint unreachable: ConnectTimeout")
        grant_id = self.valid_refresh.pop(refresh_token, None)
        if grant_id is None:
            raise InvalidGrant("refresh_token: HTTP 400 invalid_grant")
        return self._issue(grant_id)

    async def revoke(self, token: str) -> None:
        if self.fail_revokes > 0:
            self.fail_revokes -= 1
            raise IntuitUnavailable("revoke failed: ReadTimeout")
        self.revoked.append(token)
        self.valid_refresh.pop(token, None)


@dataclass
class RecordedEvents:
    """TenantEvents that remembers what would have gone to the outbox (only if committed)."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    async def reauthorization_required(
        self, session: AsyncSession, tenant_id: str, realm_id: str, at: datetime
    ) -> None:
        self.seen.append(("reauthorization_required", tenant_id))

    async def connection_recovered(
        self, session: AsyncSession, tenant_id: str, realm_id: str, at: datetime
    ) -> None:
        self.seen.append(("connection_recovered", tenant_id))

    async def refresh_token_expiring(
        self, session: AsyncSession, tenant_id: str, realm_id: str, hard_expires_at: datetime
    ) -> None:
        self.seen.append(("refresh_token_expiring", tenant_id))

    def of(self, tenant_id: str) -> list[str]:
        return [kind for kind, tid in self.seen if tid == tenant_id]
