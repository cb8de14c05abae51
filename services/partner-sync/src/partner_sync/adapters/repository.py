"""SQL for partner state, history and automatch proposals, run in the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from partner_sync.adapters.tables import PartnerTables


@dataclass(frozen=True)
class PartnerRow:
    tenant_id: str
    kind: str
    partner_id: str
    version: int
    status: str
    snapshot: dict[str, Any] | None = None
    synced_version: int | None = None
    sync_key: str | None = None
    sync_token: str | None = None
    qbo_name: str | None = None
    currency: str | None = None
    key_generation: int = 0
    reason: str | None = None
    message: str | None = None
    waiting: str | None = None
    parent_id: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class HistoryEntry:
    tenant_id: str
    kind: str
    partner_id: str
    operation_id: str
    action: str
    status: str
    event_id: str | None = None
    event_type: str | None = None
    version: int | None = None
    reason: str | None = None
    message: str | None = None
    request_id: str | None = None
    intuit_tid: str | None = None
    qbo_id: str | None = None
    sync_token: str | None = None
    at: datetime | None = field(default=None, compare=False)


_ROW_FIELDS = tuple(PartnerRow.__dataclass_fields__)
_HISTORY_FIELDS = tuple(f for f in HistoryEntry.__dataclass_fields__ if f != "at")


class PartnerRepository:
    def __init__(self, tables: PartnerTables) -> None:
        self.t = tables
        # Built once and executed with parameter lists: building an upsert per row was the
        # largest cost of the backfill's profile (SQLAlchemy construction, not the database).
        keys = ("tenant_id", "kind", "partner_id")
        upsert = insert(tables.partners)
        self._upsert = upsert.on_conflict_do_update(
            index_elements=list(keys),
            set_={
                **{k: upsert.excluded[k] for k in _ROW_FIELDS if k not in (*keys, "updated_at")},
                "updated_at": func.now(),
            },
        )
        self._add_history = tables.history.insert()

    async def lock(self, session: AsyncSession, tenant_id: str, kind: str, partner_id: str) -> None:
        """Serialise work on one partner until the transaction ends (all processes, all pods).

        QBO Customers hold clients and projects, so both kinds lock in their own key space; the
        name clash between kinds is settled by QBO's duplicate-name refusal instead.
        """
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"partner-sync|{tenant_id}|{kind}|{partner_id}"},
        )

    async def lock_many(
        self, session: AsyncSession, tenant_id: str, keys: Sequence[tuple[str, str]]
    ) -> None:
        """`lock` for several partners in one round trip, in the order given (callers sort, so
        two multi-partner holders never wait on each other crosswise)."""
        if not keys:
            return
        await session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
                "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n) ORDER BY n"
            ),
            {"keys": [f"partner-sync|{tenant_id}|{kind}|{pid}" for kind, pid in keys]},
        )

    async def get_many(
        self, session: AsyncSession, tenant_id: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], PartnerRow]:
        """The stored rows of these partners, by (kind, partner id); missing ones are absent."""
        if not keys:
            return {}
        c = self.t.partners.c
        rows = (
            (
                await session.execute(
                    select(self.t.partners).where(
                        c.tenant_id == tenant_id,
                        tuple_(c.kind, c.partner_id).in_([tuple(k) for k in keys]),
                    )
                )
            )
            .mappings()
            .all()
        )
        return {
            (str(r["kind"]), str(r["partner_id"])): PartnerRow(**{k: r[k] for k in _ROW_FIELDS})
            for r in rows
        }

    async def get(
        self, session: AsyncSession, tenant_id: str, kind: str, partner_id: str
    ) -> PartnerRow | None:
        c = self.t.partners.c
        row = (
            (
                await session.execute(
                    select(self.t.partners).where(
                        c.tenant_id == tenant_id, c.kind == kind, c.partner_id == partner_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return PartnerRow(**{k: row[k] for k in _ROW_FIELDS}) if row else None

    async def save(self, session: AsyncSession, row: PartnerRow) -> None:
        await self.save_many(session, [row])

    async def save_many(self, session: AsyncSession, rows: Sequence[PartnerRow]) -> None:
        """Upsert the rows in one statement (however many there are)."""
        if rows:
            await session.execute(
                self._upsert,
                [{k: getattr(r, k) for k in _ROW_FIELDS if k != "updated_at"} for r in rows],
            )

    async def add_history(self, session: AsyncSession, entry: HistoryEntry) -> None:
        await self.add_history_many(session, [entry])

    async def add_history_many(
        self, session: AsyncSession, entries: Sequence[HistoryEntry]
    ) -> None:
        if entries:
            await session.execute(
                self._add_history,
                [{k: getattr(e, k) for k in _HISTORY_FIELDS} for e in entries],
            )

    async def history(
        self, session: AsyncSession, tenant_id: str, kind: str, partner_id: str, limit: int = 100
    ) -> list[HistoryEntry]:
        c = self.t.history.c
        rows = (
            (
                await session.execute(
                    select(self.t.history)
                    .where(c.tenant_id == tenant_id, c.kind == kind, c.partner_id == partner_id)
                    .order_by(c.id.desc())
                    .limit(limit)
                )
            )
            .mappings()
            .all()
        )
        return [HistoryEntry(**{k: r[k] for k in (*_HISTORY_FIELDS, "at")}) for r in rows]

    async def page(
        self,
        session: AsyncSession,
        tenant_id: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[PartnerRow]:
        c = self.t.partners.c
        stmt = select(self.t.partners).where(c.tenant_id == tenant_id)
        if status is not None:
            stmt = stmt.where(c.status == status)
        if kind is not None:
            stmt = stmt.where(c.kind == kind)
        stmt = stmt.order_by(c.kind, c.partner_id).limit(limit).offset(offset)
        rows = (await session.execute(stmt)).mappings().all()
        return [PartnerRow(**{k: r[k] for k in _ROW_FIELDS}) for r in rows]

    async def holder_of_key(
        self, session: AsyncSession, tenant_id: str, kinds: tuple[str, ...], qbo_id: str
    ) -> PartnerRow | None:
        """The partner already linked to this QBO record, if any (one record, one partner)."""
        c = self.t.partners.c
        row = (
            (
                await session.execute(
                    select(self.t.partners).where(
                        c.tenant_id == tenant_id, c.kind.in_(kinds), c.sync_key == qbo_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return PartnerRow(**{k: row[k] for k in _ROW_FIELDS}) if row else None

    async def linked_keys(
        self, session: AsyncSession, tenant_id: str, kinds: tuple[str, ...]
    ) -> set[str]:
        c = self.t.partners.c
        rows = await session.execute(
            select(c.sync_key).where(
                c.tenant_id == tenant_id, c.kind.in_(kinds), c.sync_key.isnot(None)
            )
        )
        return {str(r[0]) for r in rows}

    async def take_waiting(self, session: AsyncSession, tenant_id: str) -> list[tuple[str, str]]:
        """(kind, partner id) of every partner waiting for a reconnect; they stop waiting."""
        c = self.t.partners.c
        rows = await session.execute(
            update(self.t.partners)
            .where(c.tenant_id == tenant_id, c.waiting.isnot(None))
            .values(waiting=None)
            .returning(c.kind, c.partner_id)
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def keys_of(
        self, session: AsyncSession, tenant_id: str, *, status: str | None = None
    ) -> list[tuple[str, str]]:
        c = self.t.partners.c
        stmt = select(c.kind, c.partner_id).where(c.tenant_id == tenant_id)
        if status is not None:
            stmt = stmt.where(c.status == status)
        return [(str(r[0]), str(r[1])) for r in await session.execute(stmt)]

    async def failed_projects_of(
        self, session: AsyncSession, tenant_id: str, client_id: str
    ) -> list[str]:
        """Projects that failed because their client was not in QBO yet."""
        c = self.t.partners.c
        rows = await session.execute(
            select(c.partner_id).where(
                c.tenant_id == tenant_id,
                c.kind == "project",
                c.parent_id == client_id,
                c.status == "failed",
                c.sync_key.is_(None),
            )
        )
        return [str(r[0]) for r in rows]

    async def failed_projects_of_many(
        self, session: AsyncSession, tenant_id: str, client_ids: Sequence[str]
    ) -> list[str]:
        """`failed_projects_of` for several clients in one query."""
        if not client_ids:
            return []
        c = self.t.partners.c
        rows = await session.execute(
            select(c.partner_id).where(
                c.tenant_id == tenant_id,
                c.kind == "project",
                c.parent_id.in_(bindparam("clients", list(client_ids), expanding=True)),
                c.status == "failed",
                c.sync_key.is_(None),
            )
        )
        return [str(r[0]) for r in rows]

    async def try_lock(
        self, session: AsyncSession, tenant_id: str, kind: str, partner_id: str
    ) -> bool:
        """The partner's lock if it is free now (same key as `lock`), else False."""
        got = await session.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"partner-sync|{tenant_id}|{kind}|{partner_id}"},
        )
        return bool(got.scalar())

    async def deferred(self, session: AsyncSession, limit: int) -> list[tuple[str, str, str]]:
        """(tenant, kind, partner id) of partners deferred because their realm was busy,
        oldest first."""
        c = self.t.partners.c
        rows = await session.execute(
            select(c.tenant_id, c.kind, c.partner_id)
            .where(c.waiting == "rate-limit")
            .order_by(c.updated_at)
            .limit(limit)
        )
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]
