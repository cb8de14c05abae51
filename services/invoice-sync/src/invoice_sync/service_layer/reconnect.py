"""A tenant (re)connected QuickBooks: what failed for want of a connection is tried again."""

from __future__ import annotations

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.service_layer.backfill import sync_backlog
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.named_refs import forget_names
from invoice_sync.service_layer.payments import record_payment
from qbsync_common.contract.events import PaymentRecordedUpstream

CONNECTION_REASONS = ("needs-reauthorization", "tenant-not-connected")


async def retry_after_reconnect(ctx: Context, tenant_id: str) -> int:
    """The documents as a backfill (batch creates), then each payment in its own transaction;
    returns how many were tried.

    The company may be another one than before (a reconnect can pick any realm): cached item and
    term ids and the preflight are dropped first. Documents left "creating" are taken too: a
    crash (or a lost answer) during an earlier re-drive left them so, and only this redelivered
    event re-drives them; they are resolved as uncertain creates (looked up first).
    """
    await forget_names(ctx, tenant_id)
    ctx.profiles.invalidate(tenant_id)
    async with ctx.sessions() as session:
        docs = await repo.documents_to_redrive(session, tenant_id, CONNECTION_REASONS)
        pays = await repo.payments_to_redrive(session, tenant_id, CONNECTION_REASONS)

    async def due(session: AsyncSession, kind: str, doc_id: str, row: RowMapping | None) -> bool:
        return row is not None and redrivable(row["status"], row["reason_code"])

    await sync_backlog(ctx, tenant_id, [(e["document_kind"], e["document_id"]) for e in docs], due)
    for entry in pays:
        async with ctx.sessions() as session, session.begin():
            payment = PaymentRecordedUpstream.model_validate(entry["snapshot"])
            await record_payment(ctx, session, tenant_id, payment)
    return len(docs) + len(pays)


def redrivable(status: str, reason_code: str | None) -> bool:
    return status == "creating" or (status == "failed" and reason_code in CONNECTION_REASONS)
