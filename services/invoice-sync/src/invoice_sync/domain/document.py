"""One upstream document (client invoice, vendor invoice, credit memo) in the shape the rules use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from qbsync_common.contract.events import CreditMemoIssued, InvoiceStatusChanged, PartnerSnapshot
from qbsync_common.contract.values import DocumentKind, DocumentLine, PartnerKind, PaymentTerms


@dataclass(frozen=True)
class Document:
    """An upstream document snapshot; `status` is None for credit memos (they have no workflow)."""

    kind: DocumentKind
    document_id: str
    version: int
    number: str | None
    status: str | None
    pro_forma: bool
    issue_date: date
    due_date: date | None
    modified_at: datetime | None
    partner_kind: PartnerKind
    partner_id: str
    partner: PartnerSnapshot | None
    project_id: str | None
    client_id: str | None
    terms: PaymentTerms | None
    currency: str
    exchange_rate: Decimal
    lines: tuple[DocumentLine, ...]
    net_total: Decimal
    upstream_sync_key: str | None

    @property
    def needs_client_key(self) -> bool:
        """A vendor invoice names the client (or project) it was for; their keys must exist."""
        return self.kind == "bill" and (self.client_id is not None or self.project_id is not None)


def from_invoice(event: InvoiceStatusChanged) -> Document:
    return Document(
        kind="invoice" if event.kind == "client" else "bill",
        document_id=event.invoice_id,
        version=event.version,
        number=event.number,
        status=event.status,
        pro_forma=event.pro_forma,
        issue_date=event.issue_date,
        due_date=event.due_date,
        modified_at=event.modified_at,
        partner_kind=event.kind,
        partner_id=event.partner_id,
        partner=event.partner,
        project_id=event.project_id,
        client_id=event.client_id,
        terms=event.payment_terms,
        currency=event.currency,
        exchange_rate=event.exchange_rate,
        lines=tuple(event.lines),
        net_total=event.net_total,
        upstream_sync_key=event.sync_key,
    )


def from_credit_memo(event: CreditMemoIssued) -> Document:
    return Document(
        kind="credit_memo",
        document_id=event.credit_memo_id,
        version=event.version,
        number=event.number,
        status=None,
        pro_forma=False,
        issue_date=event.issue_date,
        due_date=None,
        modified_at=event.modified_at,
        partner_kind="client",
        partner_id=event.partner_id,
        partner=event.partner,
        project_id=None,
        client_id=None,
        terms=None,
        currency=event.currency,
        exchange_rate=event.exchange_rate,
        lines=tuple(event.lines),
        net_total=event.net_total,
        upstream_sync_key=None,
    )
