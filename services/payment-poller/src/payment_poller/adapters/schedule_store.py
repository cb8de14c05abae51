"""The per-tenant poll schedule: states, intervals, claims with leases, the cursor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from payment_poller.adapters.tables import PollerTables


@dataclass(frozen=True)
class Claim:
    """One replica's lease on one tenant's poll; `token` fences its final commit."""

    tenant_id: str
    realm_id: str | None
    cursor: datetime | None
    trigger: str
    token: str
    interval_s: int
    claimed_at: datetime


class ScheduleStore:
    def __init__(self, tables: PollerTables) -> None:
        self.t = tables

    async def ensure_tenant(
        self,
        s: AsyncSession,
        tenant_id: str,
        *,
        interval_s: int,
        cursor: datetime | None,
        realm_id: str | None = None,
        next_poll_at: datetime | None = None,
        trigger: str | None = None,
    ) -> bool:
        """Add the tenant's schedule row unless it exists; True if this call added it."""
        values: dict[str, Any] = {
            "tenant_id": tenant_id,
            "interval_s": interval_s,
            "cursor": cursor,
            "realm_id": realm_id,
        }
        if next_poll_at is not None:
            values["next_poll_at"] = next_poll_at
        if trigger is not None:
            values["pending_trigger"] = trigger
        result = await s.execute(
            insert(self.t.schedule)
            .values(values)
            .on_conflict_do_nothing()
            .returning(self.t.schedule.c.tenant_id)
        )
        return result.first() is not None

    async def learn_tenant(
        self, s: AsyncSession, tenant_id: str, realm_id: str, interval_s: int
    ) -> None:
        """Complete a row created before any connection event (realm unknown, default interval).

        A settings event that arrived meanwhile (settings_version >= 0) keeps its interval.
        """
        c = self.t.schedule.c
        await s.execute(
            update(self.t.schedule)
            .where(c.tenant_id == tenant_id, c.realm_id.is_(None))
            .values(
                realm_id=realm_id,
                interval_s=case((c.settings_version < 0, interval_s), else_=c.interval_s),
            )
        )

    async def set_state(
        self,
        s: AsyncSession,
        tenant_id: str,
        state: str,
        *,
        realm_id: str | None = None,
        poll_now: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state}
        if realm_id is not None:
            values["realm_id"] = realm_id
        if poll_now is not None:
            values["next_poll_at"] = func.now()
            values["pending_trigger"] = poll_now
        await s.execute(
            update(self.t.schedule).where(self.t.schedule.c.tenant_id == tenant_id).values(values)
        )

    async def apply_settings(
        self, s: AsyncSession, tenant_id: str, version: int, interval_s: int
    ) -> None:
        c = self.t.schedule.c
        await s.execute(
            update(self.t.schedule)
            .where(c.tenant_id == tenant_id, c.settings_version < version)
            .values(
                settings_version=version,
                interval_s=interval_s,
                # A shorter interval takes effect now, not after the old one ran out.
                next_poll_at=func.least(c.next_poll_at, func.now() + timedelta(seconds=interval_s)),
            )
        )

    async def request_poll(
        self, s: AsyncSession, tenant_id: str, at: datetime, trigger: str
    ) -> None:
        """Bring the tenant's next poll forward to `at` (never push it back): the debounce."""
        c = self.t.schedule.c
        await s.execute(
            update(self.t.schedule)
            .where(c.tenant_id == tenant_id, c.next_poll_at > at)
            .values(next_poll_at=at, pending_trigger=trigger)
        )

    async def knows(self, s: AsyncSession, tenant_id: str) -> bool:
        c = self.t.schedule.c
        found = await s.execute(select(c.tenant_id).where(c.tenant_id == tenant_id))
        return found.first() is not None

    async def claim_due(
        self, s: AsyncSession, replica: str, lease: timedelta, limit: int
    ) -> list[Claim]:
        """Claim up to `limit` due tenants; rows another replica is claiming are skipped."""
        c = self.t.schedule.c
        due = (
            select(c.tenant_id)
            .where(
                c.state == "connected",
                c.next_poll_at <= func.now(),
                or_(c.claim_expires_at.is_(None), c.claim_expires_at < func.now()),
            )
            .order_by(c.next_poll_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await s.execute(due)).all()
        claims = []
        for (tenant_id,) in rows:
            token = uuid.uuid4().hex
            row = (
                await s.execute(
                    update(self.t.schedule)
                    .where(c.tenant_id == tenant_id)
                    .values(
                        claim_token=token,
                        claimed_by=replica,
                        claim_expires_at=func.now() + lease,
                        # Parked at the lease end: a webhook during the poll moves it earlier,
                        # and a crashed poll is due again exactly when its claim lapses.
                        next_poll_at=func.now() + lease,
                    )
                    .returning(
                        c.realm_id,
                        c.cursor,
                        c.pending_trigger,
                        c.interval_s,
                        func.now().label("claimed_at"),
                    )
                )
            ).one()
            claims.append(
                Claim(
                    tenant_id,
                    row.realm_id,
                    row.cursor,
                    row.pending_trigger,
                    token,
                    row.interval_s,
                    row.claimed_at,
                )
            )
        return claims

    async def extend_claim(self, s: AsyncSession, claim: Claim, lease: timedelta) -> bool:
        """Push our lease to a full `lease` from now; False if the claim is no longer ours.

        Fenced by the token like the final commit: once another replica took the tenant over,
        the token changed and nothing here can take it back.
        """
        c = self.t.schedule.c
        result = await s.execute(
            update(self.t.schedule)
            .where(c.tenant_id == claim.tenant_id, c.claim_token == claim.token)
            .values(
                claim_expires_at=func.now() + lease,
                # The claim parked next_poll_at at the lease end (a crashed poll is due when its
                # lease lapses): it moves with the lease, unless a webhook brought it earlier.
                next_poll_at=case(
                    (c.next_poll_at < c.claim_expires_at, c.next_poll_at),
                    else_=func.now() + lease,
                ),
            )
            .returning(c.tenant_id)
        )
        return result.first() is not None

    async def finish_claim(
        self,
        s: AsyncSession,
        claim: Claim,
        *,
        cursor: datetime | None,
        error: str | None,
        retry_s: float,
        state: str | None = None,
    ) -> bool:
        """Release our claim; False if it lapsed and someone else holds the tenant (roll back!)."""
        c = self.t.schedule.c
        values: dict[str, Any] = {"claim_token": None, "claimed_by": None, "claim_expires_at": None}
        if error is None:
            values |= {
                # A document learned during the poll may have rewound the cursor: keep that.
                "cursor": case((c.cursor < claim.cursor, c.cursor), else_=cursor),
                "last_success_at": func.now(),
                "last_error": None,
                "pending_trigger": "schedule",
                # The period runs from the start of this poll, so polls do not drift by their
                # own duration; a poll longer than the interval makes the next one due at once.
                "next_poll_at": func.greatest(
                    func.now(), claim.claimed_at + timedelta(seconds=claim.interval_s)
                ),
            }
        else:
            values |= {
                "last_error": error[:2000],
                "next_poll_at": func.now() + timedelta(seconds=retry_s),
            }
        if state is not None:
            values["state"] = state
        # The claim parked next_poll_at at the lease end; if it is earlier now, a webhook (or an
        # operator) asked for a poll while this one ran: keep that time and its trigger.
        planned = values["next_poll_at"]
        requested = c.next_poll_at < c.claim_expires_at
        values["next_poll_at"] = case(
            (requested, func.least(c.next_poll_at, planned)), else_=planned
        )
        values["pending_trigger"] = case(
            (requested, c.pending_trigger),
            else_=values.get("pending_trigger", c.pending_trigger),
        )
        result = await s.execute(
            update(self.t.schedule)
            .where(c.tenant_id == claim.tenant_id, c.claim_token == claim.token)
            .values(values)
            .returning(c.tenant_id)
        )
        return result.first() is not None

    # -- documents ------------------------------------------------------------------------------
    async def rewind_cursor(self, s: AsyncSession, tenant_id: str, to: datetime) -> None:
        """Re-read QBO from `to` on: payments made before we learned of a document still count."""
        c = self.t.schedule.c
        await s.execute(
            update(self.t.schedule).where(c.tenant_id == tenant_id, c.cursor > to).values(cursor=to)
        )


class RunStore:
    """Job statistics: one row per poll run."""

    def __init__(self, tables: PollerTables) -> None:
        self.t = tables

    async def start_run(self, s: AsyncSession, claim: Claim, replica: str) -> int:
        t = self.t.runs
        result = await s.execute(
            insert(t)
            .values(tenant_id=claim.tenant_id, trigger=claim.trigger, replica=replica)
            .returning(t.c.id)
        )
        return int(result.scalar_one())

    async def finish_run(self, s: AsyncSession, run_id: int, **values: Any) -> None:
        t = self.t.runs
        await s.execute(update(t).where(t.c.id == run_id).values(finished_at=func.now(), **values))
