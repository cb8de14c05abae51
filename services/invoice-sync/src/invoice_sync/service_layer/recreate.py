"""A synced document vanished from QBO (found neither by id nor by number): create it again."""

from __future__ import annotations

from invoice_sync.adapters import repository as repo
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.documents import DONE
from invoice_sync.service_layer.outcomes import Origin
from qbsync_common.contract.events import RecreateDocument


async def forget_vanished(ctx: Context, tenant_id: str, event: RecreateDocument) -> Origin | None:
    """Drop the dead key in a transaction of its own (the create that follows writes the same row
    from a second connection); returns what to sync again, or None when there is nothing to do."""
    kind, doc_id = event.document_kind, event.document_id
    async with ctx.sessions() as session, session.begin():
        await repo.advisory_lock(session, tenant_id, "doc", kind, doc_id)
        row = await repo.get_document(session, tenant_id, kind, doc_id)
        if row is None:
            return None
        if row["status"] in DONE:
            if event.missing_sync_key is not None and row["sync_key"] != event.missing_sync_key:
                return None  # a stale request: the document has another key by now
            # Only a dead key bumps the generation: a retry after a crash must reuse the operation.
            await repo.update_document(
                session,
                tenant_id,
                kind,
                doc_id,
                status="cleared",
                sync_key=None,
                sync_token=None,
                generation=int(row["generation"]) + 1,
                message=f"QBO document {row['sync_key']} vanished; recreating it.",
            )
            await repo.add_history(
                session,
                tenant_id=tenant_id,
                document_kind=kind,
                document_id=doc_id,
                outcome="recreate-requested",
                sync_key=row["sync_key"],
                message=event.reason,
            )
        elif row["status"] not in ("cleared", "creating"):
            return None
        return Origin(None, row["event_type"], dict(row["snapshot"]))
