"""Reads and writes of invoice-sync's tables inside the caller's transaction (no commits here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters.tables import (
    document_history,
    documents,
    named_refs,
    partner_keys,
    payments,
    waiting_documents,
)


async def advisory_lock(session: AsyncSession, *parts: str) -> None:
    """Serialise work on one key across every replica until the transaction ends."""
    key = "/".join(("invoice-sync", *parts))
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    )


async def get_document(
    session: AsyncSession, tenant_id: str, kind: str, document_id: str
) -> RowMapping | None:
    row = await session.execute(
        select(documents).where(
            documents.c.tenant_id == tenant_id,
            documents.c.document_kind == kind,
            documents.c.document_id == document_id,
        )
    )
    return row.mappings().first()


async def save_document(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert or update by key; only the columns given are written on update."""
    stmt = insert(documents).values(**values)
    keys = {"tenant_id", "document_kind", "document_id"}
    changes: dict[str, Any] = {k: stmt.excluded[k] for k in values if k not in keys}
    changes["updated_at"] = func.now()
    await session.execute(stmt.on_conflict_do_update(index_elements=sorted(keys), set_=changes))


async def update_document(
    session: AsyncSession, tenant_id: str, kind: str, document_id: str, **values: Any
) -> None:
    """Change some columns of an existing document (operators' actions)."""
    await session.execute(
        update(documents)
        .where(
            documents.c.tenant_id == tenant_id,
            documents.c.document_kind == kind,
            documents.c.document_id == document_id,
        )
        .values(**values, updated_at=func.now())
    )


async def add_history(session: AsyncSession, **values: Any) -> None:
    await session.execute(document_history.insert().values(**values))


async def history(
    session: AsyncSession, tenant_id: str, kind: str, document_id: str
) -> Sequence[RowMapping]:
    rows = await session.execute(
        select(document_history)
        .where(
            document_history.c.tenant_id == tenant_id,
            document_history.c.document_kind == kind,
            document_history.c.document_id == document_id,
        )
        .order_by(document_history.c.id)
    )
    return rows.mappings().all()


async def list_documents(
    session: AsyncSession,
    tenant_id: str,
    *,
    status: str | None,
    kind: str | None,
    reason: str | None,
    limit: int,
    offset: int,
) -> Sequence[RowMapping]:
    query = select(documents).where(documents.c.tenant_id == tenant_id)
    if status:
        query = query.where(documents.c.status == status)
    if kind:
        query = query.where(documents.c.document_kind == kind)
    if reason:
        query = query.where(documents.c.reason_code == reason)
    query = query.order_by(documents.c.updated_at.desc()).limit(limit).offset(offset)
    return (await session.execute(query)).mappings().all()


async def partner_key(
    session: AsyncSession, tenant_id: str, kind: str, partner_id: str
) -> str | None:
    row = await session.execute(
        select(partner_keys.c.sync_key).where(
            partner_keys.c.tenant_id == tenant_id,
            partner_keys.c.kind == kind,
            partner_keys.c.partner_id == partner_id,
        )
    )
    return row.scalar_one_or_none()


async def save_partner_key(
    session: AsyncSession, tenant_id: str, kind: str, partner_id: str, sync_key: str, version: int
) -> None:
    """A newer version's key wins; an older result arriving late never overwrites it."""
    stmt = insert(partner_keys).values(
        tenant_id=tenant_id, kind=kind, partner_id=partner_id, sync_key=sync_key, version=version
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "kind", "partner_id"],
            set_={
                "sync_key": stmt.excluded.sync_key,
                "version": stmt.excluded.version,
                "updated_at": func.now(),
            },
            where=partner_keys.c.version <= stmt.excluded.version,
        )
    )


async def add_waiting(
    session: AsyncSession,
    tenant_id: str,
    partner_kind: str,
    partner_id: str,
    kind: str,
    doc_id: str,
) -> None:
    await session.execute(
        insert(waiting_documents)
        .values(
            tenant_id=tenant_id,
            partner_kind=partner_kind,
            partner_id=partner_id,
            document_kind=kind,
            document_id=doc_id,
        )
        .on_conflict_do_nothing()
    )


async def waiting_for(
    session: AsyncSession, tenant_id: str, partner_kind: str, partner_id: str
) -> Sequence[RowMapping]:
    rows = await session.execute(
        select(waiting_documents.c.document_kind, waiting_documents.c.document_id)
        .where(
            waiting_documents.c.tenant_id == tenant_id,
            waiting_documents.c.partner_kind == partner_kind,
            waiting_documents.c.partner_id == partner_id,
        )
        .order_by(waiting_documents.c.since)
    )
    return rows.mappings().all()


async def remove_waiting(session: AsyncSession, tenant_id: str, kind: str, doc_id: str) -> None:
    await session.execute(
        delete(waiting_documents).where(
            waiting_documents.c.tenant_id == tenant_id,
            waiting_documents.c.document_kind == kind,
            waiting_documents.c.document_id == doc_id,
        )
    )


async def documents_to_redrive(
    session: AsyncSession, tenant_id: str, reasons: Sequence[str]
) -> Sequence[RowMapping]:
    """Failed for one of `reasons`, or left "creating" by an attempt that never finished."""
    rows = await session.execute(
        select(documents.c.document_kind, documents.c.document_id).where(
            documents.c.tenant_id == tenant_id,
            or_(
                and_(documents.c.status == "failed", documents.c.reason_code.in_(reasons)),
                documents.c.status == "creating",
            ),
        )
    )
    return rows.mappings().all()


async def payments_to_redrive(
    session: AsyncSession, tenant_id: str, reasons: Sequence[str]
) -> Sequence[RowMapping]:
    """Payments a reconnect tries again: those that failed for one of `reasons`, and those an
    earlier re-drive left "exporting" (it died, or QBO failed, after the intent committed): the
    reconnect event's redelivery is the only thing left to finish them."""
    rows = await session.execute(
        select(payments.c.snapshot).where(
            payments.c.tenant_id == tenant_id,
            or_(
                and_(payments.c.status == "failed", payments.c.reason_code.in_(reasons)),
                payments.c.status == "exporting",
            ),
        )
    )
    return rows.mappings().all()


async def get_payment(session: AsyncSession, tenant_id: str, payment_id: str) -> RowMapping | None:
    row = await session.execute(
        select(payments).where(
            payments.c.tenant_id == tenant_id, payments.c.payment_id == payment_id
        )
    )
    return row.mappings().first()


async def save_payment(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = insert(payments).values(**values)
    changes: dict[str, Any] = {
        k: stmt.excluded[k] for k in values if k not in ("tenant_id", "payment_id")
    }
    changes["updated_at"] = func.now()
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["tenant_id", "payment_id"], set_=changes)
    )


async def payments_waiting_for(
    session: AsyncSession, tenant_id: str, invoice_id: str
) -> Sequence[RowMapping]:
    """Payments the invoice's sync must export: those waiting for it, and those whose export an
    earlier attempt of that sync began ("exporting" intent committed) but never finished. The
    latter's own events were acknowledged long ago: only the invoice's redelivery is left."""
    rows = await session.execute(
        select(payments).where(
            payments.c.tenant_id == tenant_id,
            payments.c.invoice_id == invoice_id,
            payments.c.status.in_(("waiting_invoice", "exporting")),
        )
    )
    return rows.mappings().all()


async def list_payments(
    session: AsyncSession, tenant_id: str, *, status: str | None, limit: int, offset: int
) -> Sequence[RowMapping]:
    query = select(payments).where(payments.c.tenant_id == tenant_id)
    if status:
        query = query.where(payments.c.status == status)
    query = query.order_by(payments.c.updated_at.desc()).limit(limit).offset(offset)
    return (await session.execute(query)).mappings().all()


async def named_ref(session: AsyncSession, tenant_id: str, entity: str, name: str) -> str | None:
    row = await session.execute(
        select(named_refs.c.qbo_id).where(
            named_refs.c.tenant_id == tenant_id,
            named_refs.c.entity == entity,
            named_refs.c.name == name,
        )
    )
    return row.scalar_one_or_none()


async def save_named_ref(
    session: AsyncSession, tenant_id: str, entity: str, name: str, qbo_id: str
) -> None:
    stmt = insert(named_refs).values(tenant_id=tenant_id, entity=entity, name=name, qbo_id=qbo_id)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "entity", "name"], set_={"qbo_id": stmt.excluded.qbo_id}
        )
    )


async def forget_named_refs(session: AsyncSession, tenant_id: str) -> None:
    await session.execute(delete(named_refs).where(named_refs.c.tenant_id == tenant_id))
