"""Recording a document's outcome: its row, a history entry and the result event, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.document import Document
from invoice_sync.service_layer.context import SOURCE, Context
from qbsync_common.contract.bases import EventData
from qbsync_common.contract.document_results import DocumentFailureReason, DocumentSkipReason
from qbsync_common.contract.events import DocumentSkipped, DocumentSyncFailed
from qbsync_common.contract.registry import new_event


@dataclass(frozen=True)
class Origin:
    """The upstream event a document snapshot came from (kept so waiting work can be resumed)."""

    event_id: str | None
    event_type: str
    data: dict[str, Any]


def row_of(tenant_id: str, doc: Document, origin: Origin, **values: Any) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "document_kind": doc.kind,
        "document_id": doc.document_id,
        "version": doc.version,
        "number": doc.number,
        "partner_kind": doc.partner_kind,
        "partner_id": doc.partner_id,
        "event_type": origin.event_type,
        "snapshot": origin.data,
        **values,
    }


async def emit(
    ctx: Context, session: AsyncSession, tenant_id: str, data: EventData, subject: str
) -> None:
    await ctx.outbox.enqueue(
        session, new_event(data, tenant_id=tenant_id, source=SOURCE, subject=subject)
    )


async def skipped(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    doc: Document,
    origin: Origin,
    reason: DocumentSkipReason,
    message: str,
    *,
    keep_row: bool,
) -> None:
    """`keep_row`: an already-synced document keeps its synced row; only history shows the skip."""
    if not keep_row:
        values = row_of(
            tenant_id, doc, origin, status="skipped", reason_code=reason, message=message
        )
        await repo.save_document(session, values)
    await repo.add_history(
        session,
        tenant_id=tenant_id,
        document_kind=doc.kind,
        document_id=doc.document_id,
        event_id=origin.event_id,
        outcome="skipped",
        reason_code=reason,
        message=message,
    )
    event = DocumentSkipped(
        document_kind=doc.kind,
        document_id=doc.document_id,
        version=doc.version,
        reason_code=reason,
        message=message,
    )
    await emit(ctx, session, tenant_id, event, doc.document_id)


async def failed(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    doc: Document,
    origin: Origin,
    reason: DocumentFailureReason,
    message: str,
    *,
    operation: str,
    generation: int,
    request_id: str | None = None,
    intuit_tid: str | None = None,
) -> None:
    """`generation` is bumped by the caller after QBO refused a write, so that a later attempt
    gets a fresh requestid instead of QBO's replay of the refusal. `request_id` and `intuit_tid`
    name the refused QBO call, when there was one."""
    values = row_of(
        tenant_id,
        doc,
        origin,
        status="failed",
        reason_code=reason,
        message=message,
        operation_id=operation,
        generation=generation,
        intuit_tid=intuit_tid,
    )
    if request_id is not None:
        # Only a refused QBO call has one; other failures keep the row's last requestid.
        values["request_id"] = request_id
    await repo.save_document(session, values)
    await repo.add_history(
        session,
        tenant_id=tenant_id,
        document_kind=doc.kind,
        document_id=doc.document_id,
        event_id=origin.event_id,
        outcome="failed",
        reason_code=reason,
        message=message,
        operation_id=operation,
        request_id=request_id,
        intuit_tid=intuit_tid,
    )
    event = DocumentSyncFailed(
        document_kind=doc.kind,
        document_id=doc.document_id,
        version=doc.version,
        reason_code=reason,
        message=message,
        operation_id=operation,
    )
    await emit(ctx, session, tenant_id, event, doc.document_id)
