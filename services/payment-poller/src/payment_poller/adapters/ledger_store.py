"""Our synced documents, what we reported about payments, and the published-change dedupe."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal, literal_column, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession

from payment_poller.adapters.tables import PollerTables
from payment_poller.domain.model import Doc, PaymentKind, Reported, ReportKey


class LedgerStore:
    def __init__(self, tables: PollerTables) -> None:
        self.t = tables

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

    async def set_partner(self, s: AsyncSession, tenant_id: str, doc: Doc) -> None:
        t = self.t.documents
        await s.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id, t.c.kind == doc.kind, t.c.document_id == doc.document_id
            )
            .values(partner_qbo_id=doc.partner_id)
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

    async def synced_doc_ids(self, s: AsyncSession, tenant_id: str) -> list[tuple[str, str]]:
        """(kind, QBO id) of every document we believe is in QBO."""
        t = self.t.documents
        rows = await s.execute(
            select(t.c.kind, t.c.qbo_id).where(t.c.tenant_id == tenant_id, t.c.status == "synced")
        )
        return [(r.kind, r.qbo_id) for r in rows]

    async def mark_paid(
        self,
        s: AsyncSession,
        tenant_id: str,
        kind: str,
        document_id: str,
        *,
        sync_key: str | None,
        marked_at: datetime,
        operation_id: str,
    ) -> None:
        """Remember an operator's mark; the first one stands (a redelivery changes nothing)."""
        t = self.t.marked_paid
        await s.execute(
            insert(t)
            .values(
                tenant_id=tenant_id,
                kind=kind,
                document_id=document_id,
                sync_key=sync_key,
                marked_at=marked_at,
                operation_id=operation_id,
            )
            .on_conflict_do_nothing()
        )

    async def marked_paid(
        self, s: AsyncSession, tenant_id: str, keys: Iterable[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Which of these (kind, upstream id) documents an operator marked paid."""
        wanted = list(set(keys))
        if not wanted:
            return set()
        t = self.t.marked_paid
        rows = await s.execute(
            select(t.c.kind, t.c.document_id).where(
                t.c.tenant_id == tenant_id, tuple_(t.c.kind, t.c.document_id).in_(wanted)
            )
        )
        return {(r.kind, r.document_id) for r in rows}

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
        """Payments whose applications or credit we reported as still there."""
        t, c = self.t.reported, self.t.credits
        rows = await s.execute(
            select(t.c.payment_kind, t.c.payment_id)
            .where(t.c.tenant_id == tenant_id, t.c.active.is_(True))
            .union(
                select(literal("payment"), c.c.payment_id).where(
                    c.c.tenant_id == tenant_id, c.c.amount != 0
                )
            )
        )
        return [(r[0], r[1]) for r in rows]

    async def credits_for(
        self, s: AsyncSession, tenant_id: str, payment_ids: Iterable[str]
    ) -> dict[str, Decimal]:
        wanted = list(set(payment_ids))
        if not wanted:
            return {}
        t = self.t.credits
        rows = await s.execute(
            select(t.c.payment_id, t.c.amount).where(
                t.c.tenant_id == tenant_id, t.c.payment_id.in_(wanted)
            )
        )
        return {r.payment_id: Decimal(r.amount) for r in rows}

    async def save_credit(
        self, s: AsyncSession, tenant_id: str, payment_id: str, amount: Decimal, version: str
    ) -> None:
        t = self.t.credits
        values = {"amount": amount, "payment_version": version}
        stmt = insert(t).values(tenant_id=tenant_id, payment_id=payment_id, **values)
        await s.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.payment_id],
                set_=values | {"updated_at": func.now()},
            )
        )

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


def _doc(r: Any) -> Doc:
    return Doc(
        r.kind,
        r.document_id,
        r.qbo_id,
        r.doc_number,
        Decimal(r.total),
        Decimal(r.balance),
        r.currency,
        r.partner_qbo_id,
    )
