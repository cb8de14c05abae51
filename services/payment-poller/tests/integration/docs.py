"""Telling a poller about documents invoice-sync synced, as its DocumentSynced events would."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from conftest import World
from payment_poller.bootstrap import Assembled
from qbo_client.models.transactions import Transaction
from qbsync_common.contract import events


async def synced(
    w: World, p: Assembled, doc: Transaction, kind: str = "invoice", at: datetime | None = None
) -> str:
    """Deliver document.synced for a QBO document; returns the upstream document id."""
    document_id = f"{kind}-{uuid.uuid4().hex[:8]}"
    await w.deliver(
        p,
        events.DocumentSynced(
            document_kind=kind,
            document_id=document_id,
            version=1,
            sync_key=doc.Id or "",
            sync_token=doc.SyncToken or "0",
            doc_number=doc.DocNumber,
            total=doc.TotalAmt or Decimal(0),
            balance=getattr(doc, "Balance", None) or doc.TotalAmt or Decimal(0),
            currency="USD",
            adopted=False,
            operation_id=f"op-{document_id}",
        ),
        time=at,
    )
    return document_id
