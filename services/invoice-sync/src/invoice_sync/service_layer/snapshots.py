"""Documents rebuilt from the upstream event they were last seen in (for resumed work)."""

from __future__ import annotations

from typing import Any

from invoice_sync.domain.document import Document, from_credit_memo, from_invoice
from invoice_sync.service_layer.outcomes import Origin
from qbsync_common.contract.events import CreditMemoIssued, InvoiceStatusChanged


def document_of(event_type: str, data: dict[str, Any]) -> Document:
    if event_type == CreditMemoIssued.event_type:
        return from_credit_memo(CreditMemoIssued.model_validate(data))
    return from_invoice(InvoiceStatusChanged.model_validate(data))


def origin_of(event_id: str | None, event: InvoiceStatusChanged | CreditMemoIssued) -> Origin:
    return Origin(event_id, event.event_type, event.model_dump(mode="json"))
