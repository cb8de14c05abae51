"""TenantEvents over the transactional outbox: the contract's tenant events, after commit only."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from qbsync_common.contract.registry import event_type_of, exchange_of, new_event
from qbsync_common.contract.tenants import (
    TenantConnectionRecovered,
    TenantReauthorizationRequired,
    TenantRefreshTokenExpiring,
)
from qbsync_common.outbox import Outbox

SOURCE = "oauth-gateway"


class OutboxTenantEvents:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def reauthorization_required(
        self, session: AsyncSession, tenant_id: str, realm_id: str, at: datetime
    ) -> None:
        data = TenantReauthorizationRequired(
            realm_id=realm_id, reason="invalid-grant", detected_at=at
        )
        await self._emit(session, tenant_id, data)

    async def connection_recovered(
        self, session: AsyncSession, tenant_id: str, realm_id: str, at: datetime
    ) -> None:
        await self._emit(
            session, tenant_id, TenantConnectionRecovered(realm_id=realm_id, recovered_at=at)
        )

    async def refresh_token_expiring(
        self, session: AsyncSession, tenant_id: str, realm_id: str, hard_expires_at: datetime
    ) -> None:
        data = TenantRefreshTokenExpiring(realm_id=realm_id, hard_expires_at=hard_expires_at)
        await self._emit(session, tenant_id, data)

    async def _emit(self, session: AsyncSession, tenant_id: str, data: BaseModel) -> None:
        envelope = new_event(data, tenant_id=tenant_id, source=SOURCE)
        exchange = exchange_of(event_type_of(type(data)))
        await self._outbox.enqueue(session, envelope, exchange=exchange)
