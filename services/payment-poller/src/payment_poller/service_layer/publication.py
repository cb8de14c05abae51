"""Turning a decided Change into the contract event upstream receives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from payment_poller.domain.model import Change, CreditChange, invoice_status
from qbsync_common.contract import events
from qbsync_common.contract.bases import EventData

# Event ids are derived from the dedupe key, so even a duplicate that slipped past the dedupe table
# would carry the same CloudEvents id and be dropped by consumers' inboxes.
CENT = Decimal("0.01")
EVENT_NAMESPACE = uuid.UUID("1f4c7a52-5d1e-4c55-9a51-6b1f0f6d2a11")


def event_id(tenant_id: str, dedupe_key: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{tenant_id}|{dedupe_key}"))


def money(amount: Decimal) -> Decimal:
    """Cents at least ("25" from QBO becomes "25.00"), never fewer digits than QBO gave."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return amount
    return amount.quantize(CENT)


def to_event(change: Change) -> EventData:
    """The contract event for a decided change."""
    doc, payment, report = change.doc, change.payment, change.report
    status = invoice_status(doc)
    paid_on = payment.txn_date or datetime.now(UTC).date()
    source_id = report.key.source_id
    if change.kind == "received":
        return events.PaymentReceived(
            invoice_id=doc.document_id,
            qbo_invoice_id=doc.qbo_id,
            qbo_payment_id=source_id,
            amount_applied=money(change.amount),
            paid_on=paid_on,
            method=payment.method,
            reference=payment.reference,
            remaining_balance=money(doc.balance),
            # A later edit may already have restored the balance; it is still a (partial) payment.
            status="paid" if status == "paid" else "partially-paid",
            currency=doc.currency,
            unapplied_amount=money(change.unapplied),
            applied_from=report.source,
        )
    if change.kind == "changed":
        return events.PaymentChanged(
            invoice_id=doc.document_id,
            qbo_invoice_id=doc.qbo_id,
            qbo_payment_id=source_id,
            amount_applied=money(change.amount),
            paid_on=paid_on,
            method=payment.method,
            reference=payment.reference,
            remaining_balance=money(doc.balance),
            status=status,
            currency=doc.currency,
            unapplied_amount=money(change.unapplied),
            applied_from=report.source,
        )
    if change.kind == "reversed":
        return events.PaymentReversed(
            invoice_id=doc.document_id,
            qbo_invoice_id=doc.qbo_id,
            # Like received/changed: the credit memo's id for the credit it had applied.
            qbo_payment_id=source_id,
            reversal=change.reversal or "deleted",
            amount_reversed=money(change.amount),
            remaining_balance=money(doc.balance),
            status=status,
            currency=doc.currency,
            applied_from=report.source,
        )
    if change.kind == "bill_paid":
        return events.BillPaid(
            bill_id=doc.document_id,
            qbo_bill_id=doc.qbo_id,
            qbo_bill_payment_id=payment.id,
            amount_applied=money(change.amount),
            paid_on=paid_on,
            method=payment.method,
            remaining_balance=money(doc.balance),
            status="paid" if status == "paid" else "partially-paid",
            currency=doc.currency,
        )
    if change.kind == "bill_changed":
        return events.BillPaymentChanged(
            bill_id=doc.document_id,
            qbo_bill_id=doc.qbo_id,
            qbo_bill_payment_id=payment.id,
            amount_applied=money(change.amount),
            paid_on=paid_on,
            method=payment.method,
            remaining_balance=money(doc.balance),
            status=status,
            currency=doc.currency,
        )
    return events.BillPaymentReversed(
        bill_id=doc.document_id,
        qbo_bill_id=doc.qbo_id,
        qbo_bill_payment_id=payment.id,
        reversal=change.reversal or "deleted",
        amount_reversed=money(change.amount),
        remaining_balance=money(doc.balance),
        status=status,
        currency=doc.currency,
    )


def credit_event(change: CreditChange) -> events.PaymentUnapplied:
    payment = change.payment
    return events.PaymentUnapplied(
        qbo_payment_id=payment.id,
        qbo_customer_id=payment.party_id,
        unapplied_amount=money(change.amount),
        total_amount=money(payment.total),
        paid_on=payment.txn_date,
        method=payment.method,
        reference=payment.reference,
        currency=payment.currency,
        state=payment.state,
    )
