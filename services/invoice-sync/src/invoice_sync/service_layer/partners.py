"""Answers from partner-sync: learn the key, then resume (or fail) the documents that waited."""

from __future__ import annotations

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.identity import operation_id
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.backfill import sync_backlog
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.outcomes import Origin
from invoice_sync.service_layer.reconnect import CONNECTION_REASONS
from invoice_sync.service_layer.snapshots import document_of
from qbsync_common.contract import events
from qbsync_common.contract.document_results import DocumentFailureReason


async def learn_key(
    ctx: Context, tenant_id: str, kind: str, partner_id: str, sync_key: str, version: int
) -> None:
    async with ctx.sessions() as session, session.begin():
        await repo.save_partner_key(session, tenant_id, kind, partner_id, sync_key, version)


async def resume_waiting(ctx: Context, tenant_id: str, kind: str, partner_id: str) -> int:
    """The documents that waited for this partner, as a backfill (batch creates when several are
    released at once); returns how many were waiting.

    A transient failure propagates and the partner event is retried: documents already done
    left the waiting table in their own commit, so they are not repeated.
    """
    async with ctx.sessions() as session:
        waiting = await repo.waiting_for(session, tenant_id, kind, partner_id)

    async def due(
        session: AsyncSession, doc_kind: str, doc_id: str, row: RowMapping | None
    ) -> bool:
        # Dropped in the transaction that records the document's outcome: a rollback puts it back.
        await repo.remove_waiting(session, tenant_id, doc_kind, doc_id)
        return row is not None and _resumable(row["status"], row["reason_code"])

    await sync_backlog(
        ctx, tenant_id, [(e["document_kind"], e["document_id"]) for e in waiting], due
    )
    return len(waiting)


def _resumable(status: str, reason_code: str | None) -> bool:
    """Waiting for the partner, failed only because the tenant's connection was lost, or
    "creating": an earlier resume committed its intent and died before its final commit (that
    rollback put the waiting row back, and the redelivered partner event is the only thing left
    to re-drive the document; process_document looks in QBO first for an uncertain create)."""
    return status in ("waiting_partner", "creating") or (
        status == "failed" and reason_code in CONNECTION_REASONS
    )


def waiting_failure_reason(
    answer: events.PartnerSyncFailed | events.PartnerSkipped,
) -> DocumentFailureReason:
    """Why the documents waiting for a partner fail when partner-sync could not sync it.

    A partner that failed for want of the tenant's connection fails them for the same reason:
    the reconnect re-drives documents failed for a connection reason, while partner-not-synced
    is final (the partner's own re-drive finds nothing waiting any more).
    """
    if isinstance(answer, events.PartnerSyncFailed):
        if answer.reason_code == "needs-reauthorization":
            return "needs-reauthorization"
        if answer.reason_code == "tenant-not-connected":
            return "tenant-not-connected"
    return "partner-not-synced"


async def fail_waiting(
    ctx: Context,
    tenant_id: str,
    kind: str,
    partner_id: str,
    message: str,
    reason: DocumentFailureReason = "partner-not-synced",
) -> None:
    async with ctx.sessions() as session, session.begin():
        for entry in await repo.waiting_for(session, tenant_id, kind, partner_id):
            row = await repo.get_document(
                session, tenant_id, entry["document_kind"], entry["document_id"]
            )
            if row is not None and row["status"] == "creating":
                # A resume of it died after its create's intent committed: it may be in QBO
                # already, and the resuming partner.synced's redelivery, which finds it through
                # this waiting row, is the only thing left to finish it. Not failed, nor dropped.
                continue
            if reason not in CONNECTION_REASONS:
                # A connection failure keeps the document waiting for its partner: the partner's
                # sync after the reconnect resumes it even if this failure arrived after the
                # reconnect's own re-drive had already run.
                await repo.remove_waiting(
                    session, tenant_id, entry["document_kind"], entry["document_id"]
                )
            if row is None or row["status"] != "waiting_partner":
                continue
            doc = document_of(row["event_type"], row["snapshot"])
            generation = int(row["generation"])
            await outcomes.failed(
                ctx,
                session,
                tenant_id,
                doc,
                Origin(None, row["event_type"], row["snapshot"]),
                reason,
                message,
                operation=operation_id(tenant_id, doc.kind, doc.document_id, generation),
                generation=generation,
            )
