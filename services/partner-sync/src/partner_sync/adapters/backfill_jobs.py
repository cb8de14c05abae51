"""SQL for backfill jobs: start, claim under a lease, record progress fenced by the lease, finish."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Table,
    Text,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class BackfillJob:
    tenant_id: str
    state: str
    cursor: tuple[str, str] | None
    batched: int
    handed_over: int
    batch_calls: int
    error: str | None
    owner: str | None
    takeovers: int
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Progress:
    batched: int
    handed_over: int
    batch_calls: int
    cursor: tuple[str, str] | None  # None = unchanged


def _lease(seconds: float) -> object:
    return func.now() + text(f"interval '{float(seconds)} seconds'")


class BackfillJobs:
    def __init__(self, table: Table) -> None:
        self.t = table

    async def start(
        self, session: AsyncSession, tenant_id: str, owner: str, lease_s: float
    ) -> bool:
        """A new running job for the tenant, held by `owner`; False if one is running already."""
        c = self.t.c
        fresh = {
            "state": "running",
            "cursor_kind": None,
            "cursor_id": None,
            "batched": 0,
            "handed_over": 0,
            "batch_calls": 0,
            "error": None,
            "owner": owner,
            "lease_until": _lease(lease_s),
            "takeovers": 0,
            "started_at": func.now(),
            "finished_at": None,
            "updated_at": func.now(),
        }
        new = insert(self.t).values(tenant_id=tenant_id, **fresh)
        stmt = new.on_conflict_do_update(
            index_elements=[c.tenant_id], set_=fresh, where=c.state != "running"
        ).returning(c.tenant_id)
        return (await session.execute(stmt)).first() is not None

    async def claim(self, session: AsyncSession, owner: str, lease_s: float) -> str | None:
        """Take over one running job whose lease expired (its replica stopped or died).

        SKIP LOCKED: replicas claiming at once each get a different job, none waits."""
        c = self.t.c
        free = (
            select(c.tenant_id)
            .where(c.state == "running", or_(c.lease_until.is_(None), c.lease_until < func.now()))
            .order_by(c.started_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        row = (
            await session.execute(
                update(self.t)
                .where(c.tenant_id == free)
                .values(
                    owner=owner,
                    lease_until=_lease(lease_s),
                    takeovers=c.takeovers + 1,
                    updated_at=func.now(),
                )
                .returning(c.tenant_id)
            )
        ).first()
        return str(row[0]) if row else None

    async def renew(
        self, session: AsyncSession, tenant_id: str, owner: str, lease_s: float
    ) -> bool:
        """Extend the lease; False if the job is no longer ours (or no longer running)."""
        c = self.t.c
        result = await session.execute(
            update(self.t)
            .where(c.tenant_id == tenant_id, c.owner == owner, c.state == "running")
            .values(lease_until=_lease(lease_s))
            .returning(c.tenant_id)
        )
        return result.first() is not None

    async def progress(
        self, session: AsyncSession, tenant_id: str, owner: str, done: Progress
    ) -> bool:
        """Add a chunk's counts in the chunk's own transaction; False (the caller rolls the chunk
        back) if the job is no longer ours, so two replicas never both commit one job's work."""
        c = self.t.c
        values: dict[str, object] = {
            "batched": c.batched + done.batched,
            "handed_over": c.handed_over + done.handed_over,
            "batch_calls": c.batch_calls + done.batch_calls,
            "updated_at": func.now(),
        }
        if done.cursor is not None:
            # Chunks commit out of order: the cursor only ever moves forward.
            kind, partner_id = (literal(v, Text) for v in done.cursor)
            later = or_(
                c.cursor_kind.is_(None),
                tuple_(c.cursor_kind, c.cursor_id) < tuple_(kind, partner_id),
            )
            values["cursor_kind"] = case((later, kind), else_=c.cursor_kind)
            values["cursor_id"] = case((later, partner_id), else_=c.cursor_id)
        result = await session.execute(
            update(self.t)
            .where(and_(c.tenant_id == tenant_id, c.owner == owner, c.state == "running"))
            .values(**values)
            .returning(c.tenant_id)
        )
        return result.first() is not None

    async def finish(
        self, session: AsyncSession, tenant_id: str, owner: str, state: str, error: str | None
    ) -> None:
        c = self.t.c
        await session.execute(
            update(self.t)
            .where(c.tenant_id == tenant_id, c.owner == owner, c.state == "running")
            .values(
                state=state,
                error=error,
                owner=None,
                lease_until=None,
                finished_at=func.now(),
                updated_at=func.now(),
            )
        )

    async def release(self, session: AsyncSession, tenant_id: str, owner: str) -> None:
        """Give a running job up (this replica stops): any replica may claim it at once."""
        c = self.t.c
        await session.execute(
            update(self.t)
            .where(c.tenant_id == tenant_id, c.owner == owner, c.state == "running")
            .values(owner=None, lease_until=None, updated_at=func.now())
        )

    async def get(self, session: AsyncSession, tenant_id: str) -> BackfillJob | None:
        row = (
            (await session.execute(select(self.t).where(self.t.c.tenant_id == tenant_id)))
            .mappings()
            .first()
        )
        if row is None:
            return None
        cursor = (
            (str(row["cursor_kind"]), str(row["cursor_id"]))
            if row["cursor_kind"] is not None
            else None
        )
        return BackfillJob(
            tenant_id=row["tenant_id"],
            state=row["state"],
            cursor=cursor,
            batched=row["batched"],
            handed_over=row["handed_over"],
            batch_calls=row["batch_calls"],
            error=row["error"],
            owner=row["owner"],
            takeovers=row["takeovers"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )
