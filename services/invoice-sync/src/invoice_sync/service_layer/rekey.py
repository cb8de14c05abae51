"""A synced document was found again in QBO under a new key (the poller's recovery by number)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.service_layer.documents import DONE
from qbsync_common.contract.events import DocumentRekeyed

log = logging.getLogger(__name__)


async def store_new_key(
    session: AsyncSession, tenant_id: str, event: DocumentRekeyed, event_id: str
) -> bool:
    """Replace the dead key by the new one; False when the event no longer applies.

    Only a document still holding `old_sync_key` changes: a redelivery finds the new key already
    stored, and a document recreated or re-synced meanwhile has a key of its own that wins.
    """
    kind, doc_id = event.document_kind, event.document_id
    await repo.advisory_lock(session, tenant_id, "doc", kind, doc_id)
    row = await repo.get_document(session, tenant_id, kind, doc_id)
    if row is None or row["status"] not in DONE or row["sync_key"] != event.old_sync_key:
        log.info(
            "rekey of %s %s/%s from %s ignored: the row holds %s",
            kind,
            tenant_id,
            doc_id,
            event.old_sync_key,
            None if row is None else (row["status"], row["sync_key"]),
        )
        return False
    # The new document's SyncToken is not known here; nothing of ours updates a document.
    await repo.update_document(
        session, tenant_id, kind, doc_id, sync_key=event.new_sync_key, sync_token=None
    )
    await repo.add_history(
        session,
        tenant_id=tenant_id,
        document_kind=kind,
        document_id=doc_id,
        event_id=event_id,
        outcome="rekeyed",
        sync_key=event.new_sync_key,
        message=(
            f"QBO document {event.old_sync_key} was no longer found; found by {event.found_by} "
            f"as {event.new_sync_key}."
        ),
    )
    return True
