"""A document is in QBO: record it, report it (with QBO's totals) and flag a total variance."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.amounts import has_total_variance
from invoice_sync.domain.document import Document
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.creation import Created
from invoice_sync.service_layer.outcomes import Origin
from qbsync_common.contract.events import DocumentNeedsReview, DocumentSynced


async def record_synced(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    doc: Document,
    origin: Origin,
    created: Created,
    expected: Decimal,
    *,
    operation: str,
    request_id: str,
    generation: int,
    currency: str,
) -> None:
    qbo = created.document
    variance = has_total_variance(expected, qbo.total)
    status = "needs_review" if variance else "synced"
    message = f"QuickBooks computed {qbo.total} where qbsync sent {expected}." if variance else None
    await repo.save_document(
        session,
        outcomes.row_of(
            tenant_id,
            doc,
            origin,
            status=status,
            reason_code="total-variance" if variance else None,
            message=message,
            generation=generation,
            operation_id=operation,
            request_id=request_id,
            intuit_tid=qbo.intuit_tid,
            sync_key=qbo.id,
            sync_token=qbo.sync_token,
            doc_number=qbo.doc_number,
            expected_total=expected,
            qbo_total=qbo.total,
            qbo_balance=qbo.balance,
            currency=qbo.currency or currency,
            adopted=created.adopted,
        ),
    )
    await repo.remove_waiting(session, tenant_id, doc.kind, doc.document_id)
    await repo.add_history(
        session,
        tenant_id=tenant_id,
        document_kind=doc.kind,
        document_id=doc.document_id,
        event_id=origin.event_id,
        outcome="adopted" if created.adopted else "created",
        operation_id=operation,
        request_id=request_id,
        intuit_tid=qbo.intuit_tid,
        sync_key=qbo.id,
        sync_token=qbo.sync_token,
        message=message,
    )
    synced = DocumentSynced(
        document_kind=doc.kind,
        document_id=doc.document_id,
        version=doc.version,
        sync_key=qbo.id,
        sync_token=qbo.sync_token,
        doc_number=qbo.doc_number,
        total=qbo.total,
        balance=qbo.balance,
        currency=qbo.currency or currency,
        adopted=created.adopted,
        operation_id=operation,
    )
    await outcomes.emit(ctx, session, tenant_id, synced, doc.document_id)
    if variance:
        review = DocumentNeedsReview(
            document_kind=doc.kind,
            document_id=doc.document_id,
            version=doc.version,
            sync_key=qbo.id,
            reason="total-variance",
            expected=expected,
            qbo_total=qbo.total,
            currency=qbo.currency or currency,
            operation_id=operation,
        )
        await outcomes.emit(ctx, session, tenant_id, review, doc.document_id)
