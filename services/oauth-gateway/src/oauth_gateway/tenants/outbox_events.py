"""Tenant events as contract events, written to the outbox in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from qbsync_common.contract.bases import EventData
from qbsync_common.contract.registry import new_event
from qbsync_common.contract.tenants import (
    EntityChange,
    QboEntitiesChanged,
    TenantConnected,
    TenantDisconnected,
    TenantSettingsChanged,
)
from qbsync_common.outbox import Outbox

SOURCE = "oauth-gateway"


class OutboxTenantEventSink:
    """Part A's TenantEventSink (custody has its own adapter for its events)."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def _emit(
        self, session: AsyncSession, tenant_id: str, data: EventData, event_id: str | None = None
    ) -> None:
        envelope = new_event(data, tenant_id=tenant_id, source=SOURCE, event_id=event_id)
        # Each contract class names its exchange: results for upstream, events for internal notices.
        await self._outbox.enqueue(session, envelope, exchange=type(data).exchange)

    async def connected(
        self, session: AsyncSession, tenant_id: str, realm_id: str, connected_at: datetime
    ) -> None:
        await self._emit(
            session, tenant_id, TenantConnected(realm_id=realm_id, connected_at=connected_at)
        )

    async def disconnected(
        self,
        session: AsyncSession,
        tenant_id: str,
        realm_id: str,
        disconnected_at: datetime,
        initiated_by: Literal["operator", "tenant", "intuit"],
    ) -> None:
        data = TenantDisconnected(
            realm_id=realm_id, disconnected_at=disconnected_at, initiated_by=initiated_by
        )
        await self._emit(session, tenant_id, data)

    async def settings_changed(
        self, session: AsyncSession, tenant_id: str, settings: dict[str, Any], version: int
    ) -> None:
        data = TenantSettingsChanged(version=version, settings=settings)
        await self._emit(session, tenant_id, data)

    async def entities_changed(
        self,
        session: AsyncSession,
        tenant_id: str,
        realm_id: str,
        entities: list[dict[str, Any]],
        event_id: str,
    ) -> None:
        data = QboEntitiesChanged(
            realm_id=realm_id, entities=[EntityChange.model_validate(e) for e in entities]
        )
        await self._emit(session, tenant_id, data, event_id)
