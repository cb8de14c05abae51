"""The port through which tenant events leave: written into the caller's transaction (outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class TenantEventSink(Protocol):
    async def connected(
        self, session: AsyncSession, tenant_id: str, realm_id: str, connected_at: datetime
    ) -> None: ...

    async def disconnected(
        self,
        session: AsyncSession,
        tenant_id: str,
        realm_id: str,
        disconnected_at: datetime,
        initiated_by: Literal["operator", "tenant", "intuit"],
    ) -> None: ...

    async def settings_changed(
        self, session: AsyncSession, tenant_id: str, settings: dict[str, Any], version: int
    ) -> None: ...

    async def entities_changed(
        self,
        session: AsyncSession,
        tenant_id: str,
        realm_id: str,
        entities: list[dict[str, Any]],
        event_id: str,
    ) -> None: ...
