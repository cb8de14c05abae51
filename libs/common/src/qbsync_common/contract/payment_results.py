"""Payment events qbsync publishes: upstream payments exported, and payments made in QBO."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ConfigDict, Field

from qbsync_common.contract.bases import ResultEvent
from qbsync_common.contract.partner_results import OPERATION_DESCRIPTION
from qbsync_common.contract.scalars import CurrencyCode, Identifier, Money

PaymentExportFailureReason = Literal[
    "needs-reauthorization",
    "tenant-not-connected",
    "invoice-not-synced",
    "qbo-validation",
    "qbo-unavailable",
    "other",
]
INVOICE_ID_DESCRIPTION = "Upstream id of the invoice."
QBO_INVOICE_DESCRIPTION = "QBO id of the invoice (its sync key)."
QBO_PAYMENT_DESCRIPTION = "QBO id of the Payment."
REMAINING_DESCRIPTION = "What is still owed on the invoice after this change, exact decimal string."
CURRENCY_DESCRIPTION = "Currency of the amounts (the QBO document's currency)."


class PaymentExported(ResultEvent):
    """A payment recorded upstream is now in QBO, linked to its invoice or bill."""

    event_type = "qbsync.payment.exported.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "pay-9001",
                    "invoice_id": "inv-5521",
                    "version": 1,
                    "sync_key": "412",
                    "sync_token": "0",
                    "operation_id": "op-01HQ91X2M0",
                }
            ]
        }
    )

    payment_id: Identifier = Field(description="The payment's id in the upstream app.")
    invoice_id: Identifier = Field(description=INVOICE_ID_DESCRIPTION)
    version: int = Field(ge=0, description="The payment snapshot version exported.")
    sync_key: Identifier = Field(description="QBO id of the Payment or BillPayment (sync key).")
    sync_token: str = Field(description="QBO SyncToken after our write.")
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class PaymentExportFailed(ResultEvent):
    """A payment recorded upstream could not be exported to QBO."""

    event_type = "qbsync.payment.export_failed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "pay-9002",
                    "invoice_id": "inv-5522",
                    "version": 1,
                    "reason_code": "invoice-not-synced",
                    "message": "Invoice inv-5522 was never synced to QuickBooks.",
                    "operation_id": "op-01HQ91Y7PA",
                }
            ]
        }
    )

    payment_id: Identifier = Field(description="The payment's id in the upstream app.")
    invoice_id: Identifier = Field(description=INVOICE_ID_DESCRIPTION)
    version: int = Field(ge=0, description="The payment snapshot version that failed.")
    reason_code: PaymentExportFailureReason = Field(
        description="needs-reauthorization, tenant-not-connected, invoice-not-synced (the invoice "
        "has no QBO key and will not get one), qbo-validation, qbo-unavailable, other."
    )
    message: str = Field(description="Human-readable explanation.")
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class PaymentReceived(ResultEvent):
    """A payment made in QBO was applied to a synced invoice (one event per invoice it settles)."""

    event_type = "qbsync.payment.received.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_id": "inv-5521",
                    "qbo_invoice_id": "1877",
                    "qbo_payment_id": "415",
                    "amount_applied": "1000.00",
                    "paid_on": "2026-03-25",
                    "method": "Check",
                    "reference": "10442",
                    "remaining_balance": "840.25",
                    "status": "partially-paid",
                    "currency": "USD",
                    "unapplied_amount": "0.00",
                    "applied_from": "payment",
                }
            ]
        }
    )

    invoice_id: Identifier = Field(description=INVOICE_ID_DESCRIPTION)
    qbo_invoice_id: Identifier = Field(description=QBO_INVOICE_DESCRIPTION)
    qbo_payment_id: Identifier = Field(
        description="QBO id of the Payment (or CreditMemo, see `applied_from`)."
    )
    amount_applied: Money = Field(description="Amount applied to this invoice, exact decimal.")
    paid_on: date = Field(description="QBO transaction date of the payment.")
    method: str | None = Field(None, description="QBO payment method name, if any.")
    reference: str | None = Field(None, description="QBO PaymentRefNum, if any.")
    remaining_balance: Money = Field(description=REMAINING_DESCRIPTION)
    status: Literal["paid", "partially-paid"] = Field(
        description="paid (balance is zero) or partially-paid."
    )
    currency: CurrencyCode = Field(description=CURRENCY_DESCRIPTION)
    unapplied_amount: Money = Field(
        description="Part of the QBO payment not applied to any invoice (a customer credit)."
    )
    applied_from: Literal["payment", "credit_memo"] = Field(
        "payment", description="payment (a QBO Payment) or credit_memo (a CreditMemo applied)."
    )


class PaymentChanged(ResultEvent):
    """A QBO payment already reported was edited; amounts and balance are the corrected ones."""

    event_type = "qbsync.payment.changed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_id": "inv-5521",
                    "qbo_invoice_id": "1877",
                    "qbo_payment_id": "415",
                    "amount_applied": "1840.25",
                    "paid_on": "2026-03-25",
                    "method": "Check",
                    "reference": "10442",
                    "remaining_balance": "0.00",
                    "status": "paid",
                    "currency": "USD",
                    "unapplied_amount": "0.00",
                    "applied_from": "payment",
                }
            ]
        }
    )

    invoice_id: Identifier = Field(description=INVOICE_ID_DESCRIPTION)
    qbo_invoice_id: Identifier = Field(description=QBO_INVOICE_DESCRIPTION)
    qbo_payment_id: Identifier = Field(description=QBO_PAYMENT_DESCRIPTION)
    amount_applied: Money = Field(
        description="Corrected amount applied to this invoice; 0 if the payment no longer "
        "applies to it."
    )
    paid_on: date = Field(description="QBO transaction date of the payment.")
    method: str | None = Field(None, description="QBO payment method name, if any.")
    reference: str | None = Field(None, description="QBO PaymentRefNum, if any.")
    remaining_balance: Money = Field(description=REMAINING_DESCRIPTION)
    status: Literal["paid", "partially-paid", "unpaid"] = Field(
        description="The invoice's state after the correction."
    )
    currency: CurrencyCode = Field(description=CURRENCY_DESCRIPTION)
    unapplied_amount: Money = Field(description="Part of the QBO payment not applied.")
    applied_from: Literal["payment", "credit_memo"] = Field(
        "payment", description="payment or credit_memo."
    )


class PaymentReversed(ResultEvent):
    """A QBO payment already reported was voided or deleted; the invoice owes more again."""

    event_type = "qbsync.payment.reversed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_id": "inv-5521",
                    "qbo_invoice_id": "1877",
                    "qbo_payment_id": "415",
                    "reversal": "voided",
                    "amount_reversed": "1000.00",
                    "remaining_balance": "1840.25",
                    "status": "unpaid",
                    "currency": "USD",
                }
            ]
        }
    )

    invoice_id: Identifier = Field(description=INVOICE_ID_DESCRIPTION)
    qbo_invoice_id: Identifier = Field(description=QBO_INVOICE_DESCRIPTION)
    qbo_payment_id: Identifier = Field(description=QBO_PAYMENT_DESCRIPTION)
    reversal: Literal["voided", "deleted"] = Field(description="How the payment was undone in QBO.")
    amount_reversed: Money = Field(
        description="Amount that was applied to this invoice and no longer is."
    )
    remaining_balance: Money = Field(description=REMAINING_DESCRIPTION)
    status: Literal["paid", "partially-paid", "unpaid"] = Field(
        description="The invoice's state after the reversal."
    )
    currency: CurrencyCode = Field(description=CURRENCY_DESCRIPTION)


class BillPaid(ResultEvent):
    """A bill payment made in QBO was applied to a synced vendor invoice (bill)."""

    event_type = "qbsync.bill.paid.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bill_id": "vinv-301",
                    "qbo_bill_id": "2210",
                    "qbo_bill_payment_id": "733",
                    "amount_applied": "420.00",
                    "paid_on": "2026-04-05",
                    "method": None,
                    "remaining_balance": "0.00",
                    "status": "paid",
                    "currency": "USD",
                }
            ]
        }
    )

    bill_id: Identifier = Field(description="Upstream id of the vendor invoice.")
    qbo_bill_id: Identifier = Field(description="QBO id of the Bill (its sync key).")
    qbo_bill_payment_id: Identifier = Field(description="QBO id of the BillPayment.")
    amount_applied: Money = Field(description="Amount applied to this bill, exact decimal.")
    paid_on: date = Field(description="QBO transaction date of the bill payment.")
    method: str | None = Field(None, description="check or credit card payment, as QBO says.")
    remaining_balance: Money = Field(description="What is still owed on the bill after this.")
    status: Literal["paid", "partially-paid"] = Field(description="paid or partially-paid.")
    currency: CurrencyCode = Field(description=CURRENCY_DESCRIPTION)
