"""SQL for the poller's tables; every function runs inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, literal_column, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession

from payment_poller.adapters.tables import PollerTables
from payment_poller.domain.model import Doc, PaymentKind, Reported, ReportKey


@dataclass(frozen=True)
class Claim:
    """One replica's lease on one tenant's poll; `token` fences its final commit."""

    tenant_id: str
    realm_id: str | None
    cursor: datetime | None
    trigger: str
    token: str
    interval_s: int


class Repository:
    def __init__(self, tables: PollerTables) -> None:
        self.t = tables

    # -- tenants and schedule -------------------------------------------------------------------
    async def ensure_tenant(
        self, s: AsyncSession, tenant_id: str, *, interval_s: int, cursor: datetime | None
    ) -> None:
        await s.execute(
            insert(self.t.schedule)
            .values(tenant_id=tenant_id, interval_s=interval_s, cursor=cursor)
            .on_conflict_do_nothing()
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
                    .returning(c.realm_id, c.cursor, c.pending_trigger, c.interval_s)
                )
            ).one()
            claims.append(
                Claim(
                    tenant_id, row.realm_id, row.cursor, row.pending_trigger, token, row.interval_s
                )
            )
        return claims

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
                "next_poll_at": func.now() + timedelta(seconds=claim.interval_s),
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
    async def upsert_document(
        self, s: AsyncSession, tenant_id: str, doc: Doc, version: int
    ) -> bool:
        """Store a synced document; True if we did not know it before."""
        t = self.t.documents
        stmt = insert(t).values(
            tenant_id=tenant_id,
            kind=doc.kind,
            document_id=doc.document_id,
            version=version,
            qbo_id=doc.qbo_id,
            doc_number=doc.doc_number,
            total=doc.total,
            balance=doc.balance,
            currency=doc.currency,
        )
        # An older snapshot never overwrites a newer one (redeliveries, reordering).
        result: Result[Any] = await s.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.kind, t.c.document_id],
                set_={
                    k: stmt.excluded[k]
                    for k in ("version", "qbo_id", "doc_number", "total", "balance", "currency")
                }
                | {"status": "synced", "updated_at": func.now()},
                where=t.c.version <= stmt.excluded.version,
            )
            # xmax is 0 only on a row this statement inserted (not on an updated one).
            .returning(literal_column("xmax = 0"))
        )
        row = result.first()
        return bool(row is not None and row[0])

    async def rewind_cursor(self, s: AsyncSession, tenant_id: str, to: datetime) -> None:
        """Re-read QBO from `to` on: payments made before we learned of a document still count."""
        c = self.t.schedule.c
        await s.execute(
            update(self.t.schedule).where(c.tenant_id == tenant_id, c.cursor > to).values(cursor=to)
        )

    async def docs_by_qbo_id(
        self, s: AsyncSession, tenant_id: str, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Doc]:
        wanted = list(set(keys))
        if not wanted:
            return {}
        t = self.t.documents
        rows = await s.execute(
            select(t).where(t.c.tenant_id == tenant_id, tuple_(t.c.kind, t.c.qbo_id).in_(wanted))
        )
        return {(r.kind, r.qbo_id): _doc(r) for r in rows}

    async def docs_by_document_id(
        self, s: AsyncSession, tenant_id: str, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Doc]:
        wanted = list(set(keys))
        if not wanted:
            return {}
        t = self.t.documents
        rows = await s.execute(
            select(t).where(
                t.c.tenant_id == tenant_id, tuple_(t.c.kind, t.c.document_id).in_(wanted)
            )
        )
        return {(r.kind, r.document_id): _doc(r) for r in rows}

    async def set_balance(self, s: AsyncSession, tenant_id: str, doc: Doc) -> None:
        t = self.t.documents
        await s.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id, t.c.kind == doc.kind, t.c.document_id == doc.document_id
            )
            .values(balance=doc.balance, qbo_id=doc.qbo_id, status="synced", updated_at=func.now())
        )

    async def mark_missing(self, s: AsyncSession, tenant_id: str, doc: Doc) -> None:
        t = self.t.documents
        await s.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id, t.c.kind == doc.kind, t.c.document_id == doc.document_id
            )
            .values(status="missing", updated_at=func.now())
        )

    # -- reports and dedupe ---------------------------------------------------------------------
    async def reports_for(
        self, s: AsyncSession, tenant_id: str, payments: Iterable[tuple[PaymentKind, str]]
    ) -> dict[ReportKey, Reported]:
        wanted = list(set(payments))
        if not wanted:
            return {}
        t = self.t.reported
        rows = await s.execute(
            select(t).where(
                t.c.tenant_id == tenant_id, tuple_(t.c.payment_kind, t.c.payment_id).in_(wanted)
            )
        )
        out = {}
        for r in rows:
            key = ReportKey(r.payment_kind, r.payment_id, r.doc_kind, r.document_id, r.source_id)
            out[key] = Reported(
                key, r.source, Decimal(r.amount), r.txn_date, r.method, r.reference, r.active
            )
        return out

    async def active_payment_ids(
        self, s: AsyncSession, tenant_id: str
    ) -> list[tuple[PaymentKind, str]]:
        t = self.t.reported
        rows = await s.execute(
            select(t.c.payment_kind, t.c.payment_id)
            .where(t.c.tenant_id == tenant_id, t.c.active.is_(True))
            .distinct()
        )
        return [(r.payment_kind, r.payment_id) for r in rows]

    async def save_report(
        self, s: AsyncSession, tenant_id: str, report: Reported, version: str
    ) -> None:
        t = self.t.reported
        k = report.key
        values = {
            "source": report.source,
            "amount": report.amount,
            "txn_date": report.txn_date,
            "method": report.method,
            "reference": report.reference,
            "active": report.active,
            "payment_version": version,
        }
        stmt = insert(t).values(
            tenant_id=tenant_id,
            payment_kind=k.payment_kind,
            payment_id=k.payment_id,
            doc_kind=k.doc_kind,
            document_id=k.document_id,
            source_id=k.source_id,
            **values,
        )
        await s.execute(
            stmt.on_conflict_do_update(
                index_elements=[
                    t.c.tenant_id,
                    t.c.payment_kind,
                    t.c.payment_id,
                    t.c.doc_kind,
                    t.c.document_id,
                    t.c.source_id,
                ],
                set_=values | {"updated_at": func.now()},
            )
        )

    async def claim_change(
        self, s: AsyncSession, tenant_id: str, dedupe_key: str, event_id: str, event_type: str
    ) -> bool:
        """Record a change as published; False if it already was (then publish nothing)."""
        t = self.t.published
        result = await s.execute(
            insert(t)
            .values(
                tenant_id=tenant_id, dedupe_key=dedupe_key, event_id=event_id, event_type=event_type
            )
            .on_conflict_do_nothing()
            .returning(t.c.dedupe_key)
        )
        return result.first() is not None

    # -- runs -----------------------------------------------------------------------------------
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


def _doc(r: Any) -> Doc:
    return Doc(
        r.kind,
        r.document_id,
        r.qbo_id,
        r.doc_number,
        Decimal(r.total),
        Decimal(r.balance),
        r.currency,
    )
