"""Value objects of the poller: our synced documents, QBO payments, and what we already reported."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

PaymentKind = Literal["payment", "bill_payment"]
PaymentState = Literal["active", "voided", "deleted"]
Source = Literal["payment", "credit_memo"]
DocKind = Literal["invoice", "bill", "credit_memo"]
ZERO = Decimal("0")


@dataclass(frozen=True)
class Doc:
    """A document invoice-sync put in QBO, as we last saw it."""

    kind: DocKind
    document_id: str
    qbo_id: str
    doc_number: str | None
    total: Decimal
    balance: Decimal
    currency: str
    # QBO CustomerRef (invoice) or VendorRef (bill), once a poll has seen the document.
    partner_id: str | None = None


@dataclass(frozen=True)
class Link:
    """One LinkedTxn of a payment line: `amount` applied to (or, for a credit memo, taken from)."""

    target_type: str
    target_id: str
    amount: Decimal


@dataclass(frozen=True)
class QboPayment:
    """A Payment or BillPayment as CDC returned it; deleted ones carry only kind, id and state."""

    kind: PaymentKind
    id: str
    version: str
    state: PaymentState
    ours: bool = False
    txn_date: date | None = None
    method: str | None = None
    reference: str | None = None
    currency: str | None = None
    total: Decimal = ZERO
    unapplied: Decimal = ZERO
    links: tuple[Link, ...] = ()
    # CustomerRef (Payment) or VendorRef (BillPayment).
    party_id: str | None = None
    # PaymentMethodRef's id when the ref came without a name (QBO's usual form): the poll looks
    # the name up before deciding.
    method_id: str | None = None


@dataclass(frozen=True)
class ReportKey:
    """What one reported application is about: money from `source_id` on one of our documents."""

    payment_kind: PaymentKind
    payment_id: str
    doc_kind: DocKind
    document_id: str
    source_id: str


@dataclass(frozen=True)
class Reported:
    """The last state of an application we told upstream about (active=False after a reversal)."""

    key: ReportKey
    source: Source
    amount: Decimal
    txn_date: date | None
    method: str | None
    reference: str | None
    active: bool


ChangeKind = Literal[
    "received", "changed", "reversed", "bill_paid", "bill_changed", "bill_reversed"
]


@dataclass(frozen=True)
class Change:
    """One event to publish and the report state it leaves behind."""

    kind: ChangeKind
    doc: Doc
    payment: QboPayment
    report: Reported
    amount: Decimal
    reversal: Literal["voided", "deleted"] | None = None
    # The payment's unapplied amount, on one event per payment version only (0 on the others).
    unapplied: Decimal = ZERO

    @property
    def dedupe_key(self) -> str:
        """Unique per (payment, its version, document, source): the exactly-once key."""
        k = self.report.key
        return (
            f"{k.payment_kind}:{k.payment_id}:{self.payment.version}:"
            f"{k.doc_kind}:{k.document_id}:{k.source_id}"
        )


@dataclass(frozen=True)
class CreditChange:
    """A payment's unapplied amount (customer credit) differs from the one last reported."""

    payment: QboPayment
    amount: Decimal

    @property
    def dedupe_key(self) -> str:
        return f"{self.payment.kind}:{self.payment.id}:{self.payment.version}:unapplied"


def invoice_status(doc: Doc) -> Literal["paid", "partially-paid", "unpaid"]:
    if doc.balance <= ZERO:
        return "paid"
    if doc.balance >= doc.total:
        return "unpaid"
    return "partially-paid"
