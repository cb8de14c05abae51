"""Answers from partner-sync: learn the key, then resume (or fail) the documents that waited."""

from __future__ import annotations

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.identity import operation_id
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.documents import process_document
from invoice_sync.service_layer.outcomes import Origin
from invoice_sync.service_layer.snapshots import document_of


async def learn_key(
    ctx: Context, tenant_id: str, kind: str, partner_id: str, sync_key: str, version: int
) -> None:
    async with ctx.sessions() as session, session.begin():
        await repo.save_partner_key(session, tenant_id, kind, partner_id, sync_key, version)


async def resume_waiting(ctx: Context, tenant_id: str, kind: str, partner_id: str) -> int:
    """Each waiting document in its own transaction (with its lock); returns how many ran.

    A transient failure propagates and the partner event is retried: documents already done
    left the waiting table in their own commit, so they are not repeated.
    """
    async with ctx.sessions() as session:
        waiting = await repo.waiting_for(session, tenant_id, kind, partner_id)
    for entry in waiting:
        async with ctx.sessions() as session, session.begin():
            row = await repo.get_document(
                session, tenant_id, entry["document_kind"], entry["document_id"]
            )
            await repo.remove_waiting(
                session, tenant_id, entry["document_kind"], entry["document_id"]
            )
            if row is None or row["status"] != "waiting_partner":
                continue
            doc = document_of(row["event_type"], row["snapshot"])
            await process_document(
                ctx, session, tenant_id, doc, Origin(None, row["event_type"], row["snapshot"])
            )
    return len(waiting)


async def fail_waiting(
    ctx: Context, tenant_id: str, kind: str, partner_id: str, message: str
) -> None:
    async with ctx.sessions() as session, session.begin():
        for entry in await repo.waiting_for(session, tenant_id, kind, partner_id):
            row = await repo.get_document(
                session, tenant_id, entry["document_kind"], entry["document_id"]
            )
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
                "partner-not-synced",
                message,
                operation=operation_id(tenant_id, doc.kind, doc.document_id, generation),
                generation=generation,
            )
