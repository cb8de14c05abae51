"""What custody needs from the rest of the gateway: tenant events written in our transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class TenantEvents(Protocol):
    """Enqueue tenant events in the caller's transaction (the outbox relays them after commit)."""

    async def reauthorization_required(
        self, session: AsyncSession, tenant_id: str, realm_id: str, at: datetime
    ) -> None: ...

    async def connection_recovered(
        self, session: AsyncSession, tenant_id: str, realm_id: str, at: datetime
    ) -> None: ...

    async def refresh_token_expiring(
        self, session: AsyncSession, tenant_id: str, realm_id: str, hard_expires_at: datetime
    ) -> None: ...
