"""SQL for tenants, links, states, API keys and settings, run in the caller's session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from oauth_gateway.tenants.model import Tenant, TenantState
from oauth_gateway.tenants.tables import TenantTables


class DuplicateTenant(Exception):
    """A tenant with this id exists already."""


def _tenant(row: RowMapping) -> Tenant:
    return Tenant(
        tenant_id=row["tenant_id"],
        name=row["name"],
        state=TenantState(row["state"]),
        realm_id=row["realm_id"],
        return_url=row["return_url"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class TenantRepository:
    def __init__(self, tables: TenantTables) -> None:
        self.t = tables

    # -- tenants ------------------------------------------------------------------------------
    async def add(
        self,
        session: AsyncSession,
        tenant_id: str,
        name: str,
        return_url: str | None,
        now: datetime,
    ) -> Tenant:
        stmt = (
            pg_insert(self.t.tenants)
            .values(
                tenant_id=tenant_id,
                name=name,
                state=TenantState.NOT_CONNECTED.value,
                return_url=return_url,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id"])
            .returning(*self.t.tenants.c)
        )
        row = (await session.execute(stmt)).mappings().first()
        if row is None:
            raise DuplicateTenant(tenant_id)
        return _tenant(row)

    async def get(
        self, session: AsyncSession, tenant_id: str, *, lock: bool = False
    ) -> Tenant | None:
        stmt = select(self.t.tenants).where(self.t.tenants.c.tenant_id == tenant_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await session.execute(stmt)).mappings().first()
        return _tenant(row) if row else None

    async def by_realm(self, session: AsyncSession, realm_ids: list[str]) -> dict[str, str]:
        """realm id -> tenant id for the realms that are bound."""
        c = self.t.tenants.c
        rows = await session.execute(
            select(c.realm_id, c.tenant_id).where(c.realm_id.in_(realm_ids))
        )
        return {str(realm): str(tenant) for realm, tenant in rows.all()}

    async def page(
        self, session: AsyncSession, *, state: TenantState | None, after: str | None, limit: int
    ) -> list[Tenant]:
        c = self.t.tenants.c
        stmt = select(self.t.tenants).order_by(c.tenant_id).limit(limit)
        if state is not None:
            stmt = stmt.where(c.state == state.value)
        if after is not None:
            stmt = stmt.where(c.tenant_id > after)
        return [_tenant(r) for r in (await session.execute(stmt)).mappings()]

    async def count_by_state(self, session: AsyncSession) -> dict[str, int]:
        c = self.t.tenants.c
        rows = await session.execute(select(c.state, func.count()).group_by(c.state))
        return {str(state): int(n) for state, n in rows.all()}

    async def set_connected(
        self, session: AsyncSession, tenant_id: str, realm_id: str, now: datetime
    ) -> None:
        await session.execute(
            update(self.t.tenants)
            .where(self.t.tenants.c.tenant_id == tenant_id)
            .values(state=TenantState.CONNECTED.value, realm_id=realm_id, updated_at=now)
        )

    async def set_disconnected(self, session: AsyncSession, tenant_id: str, now: datetime) -> None:
        # Releasing the realm lets the company be connected again, to this or another tenant.
        await session.execute(
            update(self.t.tenants)
            .where(self.t.tenants.c.tenant_id == tenant_id)
            .values(state=TenantState.DISCONNECTED.value, realm_id=None, updated_at=now)
        )

    # -- connect links and OAuth states --------------------------------------------------------
    async def add_link(
        self,
        session: AsyncSession,
        link_id: str,
        tenant_id: str,
        purpose: str,
        expires_at: datetime,
        now: datetime,
    ) -> None:
        await session.execute(
            insert(self.t.connect_links).values(
                link_id=link_id,
                tenant_id=tenant_id,
                purpose=purpose,
                expires_at=expires_at,
                created_at=now,
            )
        )

    async def link_tenant(
        self, session: AsyncSession, link_id: str, purpose: str, now: datetime
    ) -> str | None:
        """The tenant of an unused, unexpired link (without using it)."""
        c = self.t.connect_links.c
        stmt = select(c.tenant_id).where(
            c.link_id == link_id, c.purpose == purpose, c.used_at.is_(None), c.expires_at > now
        )
        found = (await session.execute(stmt)).scalar_one_or_none()
        return str(found) if found is not None else None

    async def use_link(
        self, session: AsyncSession, link_id: str, purpose: str, now: datetime
    ) -> str | None:
        """Mark a link used and return its tenant; None if it was used, expired or unknown."""
        c = self.t.connect_links.c
        stmt = (
            update(self.t.connect_links)
            .where(
                c.link_id == link_id, c.purpose == purpose, c.used_at.is_(None), c.expires_at > now
            )
            .values(used_at=now)
            .returning(c.tenant_id)
        )
        found = (await session.execute(stmt)).scalar_one_or_none()
        return str(found) if found is not None else None

    async def add_state(
        self,
        session: AsyncSession,
        state_sha256: str,
        browser_sha256: str,
        tenant_id: str,
        expected_realm_id: str | None,
        expires_at: datetime,
        now: datetime,
    ) -> None:
        await session.execute(
            insert(self.t.oauth_states).values(
                state_sha256=state_sha256,
                browser_sha256=browser_sha256,
                tenant_id=tenant_id,
                expected_realm_id=expected_realm_id,
                expires_at=expires_at,
                created_at=now,
            )
        )

    async def take_state(
        self, session: AsyncSession, state_sha256: str, now: datetime
    ) -> RowMapping | None:
        """Delete and return an unexpired state: whoever deletes it first is its only user."""
        c = self.t.oauth_states.c
        stmt = delete(self.t.oauth_states).where(c.state_sha256 == state_sha256).returning(*c)
        row = (await session.execute(stmt)).mappings().first()
        if row is None or row["expires_at"] <= now:
            return None
        return row

    async def purge_expired(self, session: AsyncSession, now: datetime) -> None:
        await session.execute(
            delete(self.t.oauth_states).where(self.t.oauth_states.c.expires_at <= now)
        )
        await session.execute(
            delete(self.t.connect_links).where(self.t.connect_links.c.expires_at <= now)
        )

    # -- operator API keys ---------------------------------------------------------------------
    async def ensure_api_key(
        self, session: AsyncSession, key_sha256: str, label: str, now: datetime
    ) -> None:
        await session.execute(
            pg_insert(self.t.operator_api_keys)
            .values(key_sha256=key_sha256, label=label, created_at=now)
            .on_conflict_do_nothing(index_elements=["key_sha256"])
        )

    async def active_key_digest(self, session: AsyncSession, key_sha256: str) -> str | None:
        c = self.t.operator_api_keys.c
        stmt = select(c.key_sha256).where(c.key_sha256 == key_sha256, c.revoked_at.is_(None))
        found = (await session.execute(stmt)).scalar_one_or_none()
        return str(found) if found is not None else None

    # -- settings ------------------------------------------------------------------------------
    async def settings(
        self, session: AsyncSession, tenant_id: str
    ) -> tuple[int, dict[str, Any]] | None:
        c = self.t.tenant_settings.c
        row = (
            await session.execute(select(c.version, c.settings).where(c.tenant_id == tenant_id))
        ).first()
        return (int(row[0]), dict(row[1])) if row else None

    async def save_settings(
        self, session: AsyncSession, tenant_id: str, settings: dict[str, Any], now: datetime
    ) -> int:
        """Store settings and return the new version (1, 2, ...); concurrent writers serialise."""
        t = self.t.tenant_settings
        stmt = (
            pg_insert(t)
            .values(tenant_id=tenant_id, version=1, settings=settings, updated_at=now)
            .on_conflict_do_update(
                index_elements=["tenant_id"],
                set_={"version": t.c.version + 1, "settings": settings, "updated_at": now},
            )
            .returning(t.c.version)
        )
        return int((await session.execute(stmt)).scalar_one())

    # -- webhook deliveries --------------------------------------------------------------------
    async def first_delivery(
        self, session: AsyncSession, dedupe_key: str, realms: int, now: datetime
    ) -> bool:
        """Record a webhook delivery; False if the same delivery was recorded before."""
        stmt = (
            pg_insert(self.t.webhook_deliveries)
            .values(dedupe_key=dedupe_key, realms=realms, received_at=now)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(self.t.webhook_deliveries.c.dedupe_key)
        )
        return (await session.execute(stmt)).first() is not None
