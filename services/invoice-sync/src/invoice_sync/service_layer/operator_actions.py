"""What operators may do to a tenant's documents and payments (problem sync)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.identity import operation_id, request_id
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.backfill import sync_backlog
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.creation import Created
from invoice_sync.service_layer.documents import DONE, process_document
from invoice_sync.service_layer.outcomes import Origin
from invoice_sync.service_layer.payments import payment_kind_of
from invoice_sync.service_layer.snapshots import document_of
from invoice_sync.service_layer.synced import record_synced
from qbsync_common.contract.events import DocumentMarkedPaid
from qbsync_common.contract.values import DocumentKind


class ActionRefused(Exception):
    """The action does not apply to the record in its current state (HTTP 409)."""


class NotFound(Exception):
    """No such document or payment for this tenant (HTTP 404)."""


async def document(ctx: Context, tenant_id: str, kind: DocumentKind, doc_id: str) -> dict[str, Any]:
    async with ctx.sessions() as session:
        row = await repo.get_document(session, tenant_id, kind, doc_id)
        if row is None:
            raise NotFound(f"no {kind} {doc_id}")
        entries = await repo.history(session, tenant_id, kind, doc_id)
    return {**dict(row), "history": [dict(e) for e in entries]}


async def resync(ctx: Context, tenant_id: str, kind: DocumentKind, doc_id: str) -> dict[str, Any]:
    """Run the stored snapshot again with a fresh operation (new requestid); a create left
    "creating" keeps its operation and is looked up first."""
    async with ctx.sessions() as session, session.begin():
        await repo.advisory_lock(session, tenant_id, "doc", kind, doc_id)
        row = await _row(session, tenant_id, kind, doc_id)
        if row["status"] in DONE:
            raise ActionRefused(ALREADY_IN_QBO)
        await _reset_for_resync(session, tenant_id, kind, doc_id, row)
    async with ctx.sessions() as session, session.begin():
        doc = document_of(row["event_type"], row["snapshot"])
        await process_document(
            ctx, session, tenant_id, doc, Origin(None, row["event_type"], row["snapshot"])
        )
    return await document(ctx, tenant_id, kind, doc_id)


ALREADY_IN_QBO = "the document is in QuickBooks: delete it there (or clear its key) before a resync"


async def resync_many(
    ctx: Context, tenant_id: str, wanted: Sequence[tuple[DocumentKind, str]]
) -> list[dict[str, Any]]:
    """Resync many documents as one backfill (batch creates, 30 per QBO call). Each is reset as
    by `resync`; one that is missing or already in QuickBooks is reported, not resynced, and
    does not stop the others. Returns, in the order asked, each document's outcome."""
    verdicts: dict[tuple[str, str], dict[str, Any]] = {}
    accepted: list[tuple[str, str]] = []
    for kind, doc_id in dict.fromkeys(wanted):
        async with ctx.sessions() as session, session.begin():
            await repo.advisory_lock(session, tenant_id, "doc", kind, doc_id)
            row = await repo.get_document(session, tenant_id, kind, doc_id)
            if row is None:
                verdicts[(kind, doc_id)] = {"result": "not-found", "message": f"no {kind} {doc_id}"}
                continue
            if row["status"] in DONE:
                verdicts[(kind, doc_id)] = {"result": "refused", "message": ALREADY_IN_QBO}
                continue
            await _reset_for_resync(session, tenant_id, kind, doc_id, row)
        accepted.append((kind, doc_id))

    async def due(session: AsyncSession, kind: str, doc_id: str, row: RowMapping | None) -> bool:
        # Whatever synced it since the reset (an event of it) stands.
        return row is not None and row["status"] in ("pending", "creating")

    await sync_backlog(ctx, tenant_id, accepted, due)
    async with ctx.sessions() as session:
        for key in accepted:
            row = await repo.get_document(session, tenant_id, *key)
            verdicts[key] = {"result": "resynced", **dict(row or {})}
    return [
        {"document_kind": kind, "document_id": doc_id, **verdicts[(kind, doc_id)]}
        for kind, doc_id in dict.fromkeys(wanted)
    ]


async def _reset_for_resync(
    session: AsyncSession, tenant_id: str, kind: str, doc_id: str, row: RowMapping
) -> None:
    """A fresh operation, except for a create left "creating" (crash, lost answer): that one
    keeps its operation so it is looked up (and found if it reached QBO), never made twice."""
    if row["status"] != "creating":
        await repo.update_document(
            session,
            tenant_id,
            kind,
            doc_id,
            status="pending",
            generation=int(row["generation"]) + 1,
        )
    await repo.add_history(
        session,
        tenant_id=tenant_id,
        document_kind=kind,
        document_id=doc_id,
        outcome="operator:resync",
    )


async def clear_key(
    ctx: Context, tenant_id: str, kind: DocumentKind, doc_id: str, *, delete_in_qbo: bool = False
) -> dict[str, Any]:
    async with ctx.sessions() as session, session.begin():
        await repo.advisory_lock(session, tenant_id, "doc", kind, doc_id)
        row = await _row(session, tenant_id, kind, doc_id)
        if delete_in_qbo and row["sync_key"]:
            books = ctx.books.for_tenant(tenant_id)
            op = operation_id(tenant_id, kind, doc_id, int(row["generation"]))
            await books.delete_document(kind, row["sync_key"], request_id=request_id(op, "delete"))
        await repo.update_document(
            session,
            tenant_id,
            kind,
            doc_id,
            status="cleared",
            sync_key=None,
            sync_token=None,
            reason_code=None,
            message="Key cleared by an operator"
            + (" after deleting it in QuickBooks" if delete_in_qbo else ""),
            generation=int(row["generation"]) + 1,
        )
        await repo.add_history(
            session,
            tenant_id=tenant_id,
            document_kind=kind,
            document_id=doc_id,
            sync_key=row["sync_key"],
            outcome="operator:delete" if delete_in_qbo else "operator:clear-key",
        )
    return await document(ctx, tenant_id, kind, doc_id)


async def set_key(
    ctx: Context, tenant_id: str, kind: DocumentKind, doc_id: str, sync_key: str
) -> dict[str, Any]:
    """Link the document to an existing QBO document by hand; reported upstream as adopted."""
    books = ctx.books.for_tenant(tenant_id)
    qbo = await books.get_document(kind, sync_key)
    if qbo is None:
        raise NotFound(f"QuickBooks has no {kind} {sync_key}")
    async with ctx.sessions() as session, session.begin():
        await repo.advisory_lock(session, tenant_id, "doc", kind, doc_id)
        row = await _row(session, tenant_id, kind, doc_id)
        doc = document_of(row["event_type"], row["snapshot"])
        generation = int(row["generation"])
        op = operation_id(tenant_id, kind, doc_id, generation)
        await record_synced(
            ctx,
            session,
            tenant_id,
            doc,
            Origin(None, row["event_type"], row["snapshot"]),
            Created(qbo, adopted=True),
            qbo.total,
            operation=op,
            request_id="",
            generation=generation,
            currency=qbo.currency or "",
        )
    return await document(ctx, tenant_id, kind, doc_id)


async def mark_paid(ctx: Context, tenant_id: str, doc_id: str) -> dict[str, Any]:
    """No payment for this invoice will be exported, and payment-poller stops reporting payments
    made on it in QBO: it learns the mark from document.marked_paid, emitted with the flag."""
    async with ctx.sessions() as session, session.begin():
        # The lock payments take before reading the flag: none is exported past the mark.
        await repo.advisory_lock(session, tenant_id, "doc", "invoice", doc_id)
        row = await _row(session, tenant_id, "invoice", doc_id)
        if not row["marked_paid"]:  # marking twice tells nobody anything new
            await _mark_paid(ctx, session, tenant_id, doc_id, row)
    return await document(ctx, tenant_id, "invoice", doc_id)


async def _mark_paid(
    ctx: Context, session: AsyncSession, tenant_id: str, doc_id: str, row: RowMapping
) -> None:
    marked_at = datetime.now(UTC)
    operation = operation_id(tenant_id, "mark-paid", doc_id, int(row["generation"]))
    await repo.update_document(
        session,
        tenant_id,
        "invoice",
        doc_id,
        marked_paid=True,
    )
    await repo.add_history(
        session,
        tenant_id=tenant_id,
        document_kind="invoice",
        document_id=doc_id,
        sync_key=row["sync_key"],
        outcome="operator:mark-paid",
        operation_id=operation,
    )
    event = DocumentMarkedPaid(
        document_kind="invoice",
        document_id=doc_id,
        sync_key=row["sync_key"],
        marked_at=marked_at,
        operation_id=operation,
    )
    await outcomes.emit(ctx, session, tenant_id, event, doc_id)


async def remove(ctx: Context, tenant_id: str, kind: DocumentKind, doc_id: str) -> dict[str, Any]:
    """Clear from the queue without syncing: reported upstream as skipped (removed-by-operator)."""
    async with ctx.sessions() as session, session.begin():
        await repo.advisory_lock(session, tenant_id, "doc", kind, doc_id)
        row = await _row(session, tenant_id, kind, doc_id)
        if row["status"] in DONE:
            raise ActionRefused("the document is already in QuickBooks")
        await repo.remove_waiting(session, tenant_id, kind, doc_id)
        doc = document_of(row["event_type"], row["snapshot"])
        await outcomes.skipped(
            ctx,
            session,
            tenant_id,
            doc,
            Origin(None, row["event_type"], row["snapshot"]),
            "removed-by-operator",
            "Removed from the queue by an operator.",
            keep_row=False,
        )
    return await document(ctx, tenant_id, kind, doc_id)


async def unsync_payment(ctx: Context, tenant_id: str, payment_id: str) -> dict[str, Any]:
    async with ctx.sessions() as session, session.begin():
        await repo.advisory_lock(session, tenant_id, "payment", payment_id)
        row = await repo.get_payment(session, tenant_id, payment_id)
        if row is None:
            raise NotFound(f"no payment {payment_id}")
        if row["status"] != "exported" or not row["sync_key"]:
            raise ActionRefused("the payment is not in QuickBooks")
        books = ctx.books.for_tenant(tenant_id)
        await books.delete_payment(
            payment_kind_of(row["invoice_kind"]),
            row["sync_key"],
            request_id=request_id(str(row["operation_id"]), "delete"),
        )
        await repo.save_payment(
            session,
            {
                "tenant_id": tenant_id,
                "payment_id": payment_id,
                "invoice_id": row["invoice_id"],
                "invoice_kind": row["invoice_kind"],
                "version": row["version"],
                "snapshot": row["snapshot"],
                "status": "unsynced",
                "sync_key": None,
                "message": f"Deleted in QuickBooks ({row['sync_key']}) by an operator.",
                "generation": int(row["generation"]) + 1,
            },
        )
        updated = await repo.get_payment(session, tenant_id, payment_id)
    return dict(updated or {})


async def _row(session: Any, tenant_id: str, kind: str, doc_id: str) -> Any:
    row = await repo.get_document(session, tenant_id, kind, doc_id)
    if row is None:
        raise NotFound(f"no {kind} {doc_id}")
    return row
