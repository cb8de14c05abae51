"""Token rows in PostgreSQL: encrypt on write, decrypt on read, replace by generation CAS."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Table, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from oauth_gateway.custody.keyring import KeyRing, token_aad
from oauth_gateway.custody.model import StoredTokens

ACCESS = "access"
REFRESH = "refresh"


class TokenRepository:
    """All SQL on the tokens table; the caller owns the transaction."""

    def __init__(self, table: Table, keyring: KeyRing) -> None:
        self.table = table
        self.keyring = keyring
        self._tenants = f'"{table.schema}".tenants'

    # -- reads -----------------------------------------------------------------------------------
    async def load(
        self, session: AsyncSession, tenant_id: str, *, lock: bool = False
    ) -> StoredTokens | None:
        query = select(self.table).where(self.table.c.tenant_id == tenant_id)
        if lock:
            # Serialises refreshes of one tenant across replicas; the lock dies with the session.
            query = query.with_for_update()
        row = (await session.execute(query)).mappings().first()
        return self._decode(row) if row is not None else None

    async def tenant_state(self, session: AsyncSession, tenant_id: str) -> str | None:
        result = await session.execute(
            text(f"SELECT state FROM {self._tenants} WHERE tenant_id = :t"), {"t": tenant_id}
        )
        state = result.scalar_one_or_none()
        return str(state) if state is not None else None

    async def reauth_pending(self, session: AsyncSession, tenant_id: str) -> bool:
        """Whether the tenant lost its grant (our flag, or the tenant state if A set it first)."""
        flagged = (
            await session.execute(
                select(self.table.c.reauth_required_at)
                .where(self.table.c.tenant_id == tenant_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if flagged is not None:
            return True
        return await self.tenant_state(session, tenant_id) == "needs_reauthorization"

    # -- writes ----------------------------------------------------------------------------------
    async def save_initial(
        self, session: AsyncSession, tokens: StoredTokens, now: datetime
    ) -> None:
        """Insert or replace a tenant's tokens after a (re)connect; the generation moves forward."""
        values = self._encode(tokens) | {"created_at": now, "updated_at": now}
        stmt = insert(self.table).values(**values)
        replaced = {k: v for k, v in values.items() if k not in ("tenant_id", "created_at")}
        # A late refresh of the old grant must lose its CAS against the new grant.
        replaced["generation"] = self.table.c.generation + 1
        replaced |= {
            "last_failure_at": None,
            "failure_count": 0,
            "reauth_required_at": None,
            "expiry_warned_at": None,
        }
        await session.execute(
            stmt.on_conflict_do_update(index_elements=[self.table.c.tenant_id], set_=replaced)
        )

    async def compare_and_swap(
        self, session: AsyncSession, tokens: StoredTokens, expected_generation: int, now: datetime
    ) -> bool:
        """Store refreshed tokens only if nobody stored newer ones since we read generation N."""
        values = self._encode(tokens) | {
            "updated_at": now,
            "last_failure_at": None,
            "failure_count": 0,
        }
        del values["tenant_id"]
        result = await session.execute(
            update(self.table)
            .where(self.table.c.tenant_id == tokens.tenant_id)
            .where(self.table.c.generation == expected_generation)
            .values(**values)
        )
        return _rowcount(result) == 1

    async def record_failure(self, session: AsyncSession, tenant_id: str, now: datetime) -> None:
        await session.execute(
            update(self.table)
            .where(self.table.c.tenant_id == tenant_id)
            .values(
                last_failure_at=now, failure_count=self.table.c.failure_count + 1, updated_at=now
            )
        )

    async def mark_reauth_required(
        self, session: AsyncSession, tenant_id: str, generation: int, now: datetime
    ) -> str | None:
        """Flag tokens and tenant; the realm id, or None if newer tokens arrived (a reconnect)."""
        realm_id = (
            await session.execute(
                update(self.table)
                .where(self.table.c.tenant_id == tenant_id)
                .where(self.table.c.generation == generation)
                .values(reauth_required_at=now, last_failure_at=now, updated_at=now)
                .returning(self.table.c.realm_id)
            )
        ).scalar_one_or_none()
        if realm_id is None:
            return None
        await session.execute(
            text(
                f"UPDATE {self._tenants} SET state = 'needs_reauthorization', updated_at = :now "
                "WHERE tenant_id = :t AND state = 'connected'"
            ),
            {"t": tenant_id, "now": now},
        )
        return str(realm_id)

    async def mark_expiry_warned(
        self, session: AsyncSession, tenant_id: str, now: datetime
    ) -> None:
        await session.execute(
            update(self.table)
            .where(self.table.c.tenant_id == tenant_id)
            .values(expiry_warned_at=now, updated_at=now)
        )

    async def delete(self, session: AsyncSession, tenant_id: str) -> StoredTokens | None:
        row = (
            (
                await session.execute(
                    self.table.delete()
                    .where(self.table.c.tenant_id == tenant_id)
                    .returning(*self.table.c)
                )
            )
            .mappings()
            .first()
        )
        return self._decode(row) if row is not None else None

    # -- scans for the background job and rekey --------------------------------------------------
    async def refreshed_before(
        self, session: AsyncSession, cutoff: datetime, limit: int
    ) -> list[str]:
        result = await session.execute(
            select(self.table.c.tenant_id)
            .where(self.table.c.refreshed_at < cutoff)
            .where(self.table.c.reauth_required_at.is_(None))
            .order_by(self.table.c.refreshed_at)
            .limit(limit)
        )
        return [str(t) for t in result.scalars()]

    async def hard_expiring_before(
        self, session: AsyncSession, cutoff: datetime, limit: int
    ) -> list[tuple[str, str, datetime]]:
        c = self.table.c
        result = await session.execute(
            select(c.tenant_id, c.realm_id, c.refresh_hard_expires_at)
            .where(c.refresh_hard_expires_at < cutoff)
            .where(c.expiry_warned_at.is_(None))
            .limit(limit)
        )
        return [(str(t), str(realm), when) for t, realm, when in result.all()]

    async def page_for_rekey(
        self, session: AsyncSession, after: str, limit: int
    ) -> list[RowMapping]:
        result = await session.execute(
            select(
                self.table.c.tenant_id, self.table.c.access_token_ct, self.table.c.refresh_token_ct
            )
            .where(self.table.c.tenant_id > after)
            .order_by(self.table.c.tenant_id)
            .limit(limit)
            .with_for_update()
        )
        return list(result.mappings().all())

    async def rewrite_ciphertexts(
        self, session: AsyncSession, tenant_id: str, access_ct: str, refresh_ct: str
    ) -> None:
        # Same tokens under a new key: the generation stays, so no concurrent CAS is disturbed.
        await session.execute(
            update(self.table)
            .where(self.table.c.tenant_id == tenant_id)
            .values(access_token_ct=access_ct, refresh_token_ct=refresh_ct)
        )

    # -- encryption ------------------------------------------------------------------------------
    def _encode(self, tokens: StoredTokens) -> dict[str, Any]:
        tid = tokens.tenant_id
        return {
            "tenant_id": tid,
            "realm_id": tokens.realm_id,
            "access_token_ct": self.keyring.encrypt(tokens.access_token, token_aad(tid, ACCESS)),
            "access_expires_at": tokens.access_expires_at,
            "refresh_token_ct": self.keyring.encrypt(tokens.refresh_token, token_aad(tid, REFRESH)),
            "refresh_expires_at": tokens.refresh_expires_at,
            "refresh_hard_expires_at": tokens.refresh_hard_expires_at,
            "refreshed_at": tokens.refreshed_at,
            "generation": tokens.generation,
        }

    def _decode(self, row: RowMapping) -> StoredTokens:
        tid = str(row["tenant_id"])
        return StoredTokens(
            tenant_id=tid,
            realm_id=str(row["realm_id"]),
            access_token=self.keyring.decrypt(row["access_token_ct"], token_aad(tid, ACCESS)),
            access_expires_at=row["access_expires_at"],
            refresh_token=self.keyring.decrypt(row["refresh_token_ct"], token_aad(tid, REFRESH)),
            refresh_expires_at=row["refresh_expires_at"],
            refresh_hard_expires_at=row["refresh_hard_expires_at"],
            refreshed_at=row["refreshed_at"],
            generation=int(row["generation"]),
            last_failure_at=row["last_failure_at"],
            reauth_required_at=row["reauth_required_at"],
        )


def _rowcount(result: Any) -> int:
    # CursorResult has rowcount; the generic Result type that mypy sees does not declare it.
    return int(getattr(result, "rowcount", 0))
