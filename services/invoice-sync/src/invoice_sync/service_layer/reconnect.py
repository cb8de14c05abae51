"""A tenant (re)connected QuickBooks: what failed for want of a connection is tried again."""

from __future__ import annotations

from invoice_sync.adapters import repository as repo
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.documents import process_document
from invoice_sync.service_layer.named_refs import forget_names
from invoice_sync.service_layer.outcomes import Origin
from invoice_sync.service_layer.payments import record_payment
from invoice_sync.service_layer.snapshots import document_of
from qbsync_common.contract.events import PaymentRecordedUpstream

CONNECTION_REASONS = ("needs-reauthorization", "tenant-not-connected")


async def retry_after_reconnect(ctx: Context, tenant_id: str) -> int:
    """Each document and payment in its own transaction; returns how many were tried.

    The company may be another one than before (a reconnect can pick any realm): cached item and
    term ids and the preflight are dropped first.
    """
    await forget_names(ctx, tenant_id)
    ctx.profiles.invalidate(tenant_id)
    async with ctx.sessions() as session:
        docs = await repo.failed_documents(session, tenant_id, CONNECTION_REASONS)
        pays = await repo.failed_payments(session, tenant_id, CONNECTION_REASONS)
    for entry in docs:
        async with ctx.sessions() as session, session.begin():
            row = await repo.get_document(
                session, tenant_id, entry["document_kind"], entry["document_id"]
            )
            if row is None or row["status"] != "failed":
                continue
            origin = Origin(None, row["event_type"], dict(row["snapshot"]))
            doc = document_of(origin.event_type, origin.data)
            await process_document(ctx, session, tenant_id, doc, origin)
    for entry in pays:
        async with ctx.sessions() as session, session.begin():
            payment = PaymentRecordedUpstream.model_validate(entry["snapshot"])
            await record_payment(ctx, session, tenant_id, payment)
    return len(docs) + len(pays)
