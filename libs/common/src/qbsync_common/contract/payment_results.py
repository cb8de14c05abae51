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
    "overpayment",
    "other",
]
INVOICE_ID_DESCRIPTION = "Upstream id of the invoice."
QBO_INVOICE_DESCRIPTION = "QBO id of the invoice (its sync key)."
QBO_PAYMENT_DESCRIPTION = "QBO id of the Payment."
REMAINING_DESCRIPTION = "What is still owed on the invoice after this change, exact decimal string."
CURRENCY_DESCRIPTION = "Currency of the amounts (the QBO document's currency)."
QBO_SOURCE_DESCRIPTION = (
    "QBO id of the Payment, or of the CreditMemo when `applied_from` is credit_memo. "
    "(qbo_payment_id, invoice_id, applied_from) identifies one application across "
    "received, changed and reversed."
)
UNAPPLIED_DESCRIPTION = (
    "The QBO payment's unapplied amount (customer credit, UnappliedAmt) as of this version of "
    "the payment. It is carried by exactly one event per payment version (in the payment's "
    "line order, the first whose applied_from is payment, else the first) and is 0.00 on the "
    "payment's other events, so it is never counted twice. A payment whose unapplied amount changes without any invoice event, or "
    "that applies to no synced invoice at all, is reported by qbsync.payment.unapplied.v1."
)


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
                },
                {
                    "payment_id": "pay-9003",
                    "invoice_id": "vinv-301",
                    "version": 1,
                    "reason_code": "overpayment",
                    "message": "The payment of 350.00 USD is 50.00 more than the 300.00 bill "
                    "vinv-301 still owes in QuickBooks, and QuickBooks keeps no unapplied money "
                    "on bill payments, so nothing was sent.",
                    "operation_id": "op-01HQ91Z3QB",
                    "amount": "350.00",
                    "open_balance": "300.00",
                    "currency": "USD",
                },
            ]
        }
    )

    payment_id: Identifier = Field(description="The payment's id in the upstream app.")
    invoice_id: Identifier = Field(description=INVOICE_ID_DESCRIPTION)
    version: int = Field(ge=0, description="The payment snapshot version that failed.")
    reason_code: PaymentExportFailureReason = Field(
        description="needs-reauthorization, tenant-not-connected, invoice-not-synced (the invoice "
        "has no QBO key and will not get one), qbo-validation, qbo-unavailable, overpayment (a "
        "bill payment larger than what the bill still owes in QBO, which keeps no unapplied money "
        "on bill payments: nothing was sent; `amount`, `open_balance` and `currency` say by how "
        "much; a corrected later version of the payment is exported), other."
    )
    message: str = Field(description="Human-readable explanation.")
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)
    amount: Money | None = Field(
        None,
        description="With overpayment: the payment's amount as it would have gone to QBO (in "
        "`currency`, after any conversion), exact decimal string; else null.",
    )
    open_balance: Money | None = Field(
        None,
        description="With overpayment: what the document still owed in QBO (0.00 when settled), "
        "exact decimal string; else null.",
    )
    currency: CurrencyCode | None = Field(
        None, description="With overpayment: the currency of `amount` and `open_balance`."
    )


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
    qbo_payment_id: Identifier = Field(description=QBO_SOURCE_DESCRIPTION)
    amount_applied: Money = Field(description="Amount applied to this invoice, exact decimal.")
    paid_on: date = Field(description="QBO transaction date of the payment.")
    method: str | None = Field(None, description="QBO payment method name, if any.")
    reference: str | None = Field(None, description="QBO PaymentRefNum, if any.")
    remaining_balance: Money = Field(description=REMAINING_DESCRIPTION)
    status: Literal["paid", "partially-paid"] = Field(
        description="paid (balance is zero) or partially-paid."
    )
    currency: CurrencyCode = Field(description=CURRENCY_DESCRIPTION)
    unapplied_amount: Money = Field(description=UNAPPLIED_DESCRIPTION)
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
    qbo_payment_id: Identifier = Field(description=QBO_SOURCE_DESCRIPTION)
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
    unapplied_amount: Money = Field(description=UNAPPLIED_DESCRIPTION)
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
    qbo_payment_id: Identifier = Field(description=QBO_SOURCE_DESCRIPTION)
    reversal: Literal["voided", "deleted"] = Field(description="How the payment was undone in QBO.")
    amount_reversed: Money = Field(
        description="Amount that was applied to this invoice and no longer is."
    )
    remaining_balance: Money = Field(description=REMAINING_DESCRIPTION)
    status: Literal["paid", "partially-paid", "unpaid"] = Field(
        description="The invoice's state after the reversal."
    )
    currency: CurrencyCode = Field(description=CURRENCY_DESCRIPTION)
    applied_from: Literal["payment", "credit_memo"] = Field(
        "payment",
        description="payment or credit_memo: which application is undone, as in the "
        "payment.received it reverses (a voided or deleted Payment also undoes the credit memo "
        "credit it applied).",
    )


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


class BillPaymentChanged(ResultEvent):
    """A QBO bill payment already reported (bill.paid) was edited; amounts are the corrected ones."""

    event_type = "qbsync.bill.payment_changed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bill_id": "vinv-301",
                    "qbo_bill_id": "2210",
                    "qbo_bill_payment_id": "733",
                    "amount_applied": "300.00",
                    "paid_on": "2026-04-05",
                    "method": "Check",
                    "remaining_balance": "120.00",
                    "status": "partially-paid",
                    "currency": "USD",
                }
            ]
        }
    )

    bill_id: Identifier = Field(description="Upstream id of the vendor invoice.")
    qbo_bill_id: Identifier = Field(description="QBO id of the Bill (its sync key).")
    qbo_bill_payment_id: Identifier = Field(description="QBO id of the BillPayment.")
    amount_applied: Money = Field(
        description="Corrected amount applied to this bill; 0 if the bill payment no longer "
        "applies to it."
    )
    paid_on: date = Field(description="QBO transaction date of the bill payment.")
    method: str | None = Field(None, description="check or credit card payment, as QBO says.")
    remaining_balance: Money = Field(description="What is still owed on the bill after this.")
    status: Literal["paid", "partially-paid", "unpaid"] = Field(
        description="The bill's state after the correction."
    )
    currency: CurrencyCode = Field(description=CURRENCY_DESCRIPTION)


class BillPaymentReversed(ResultEvent):
    """A QBO bill payment already reported (bill.paid) was voided or deleted; the bill owes more."""

    event_type = "qbsync.bill.payment_reversed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bill_id": "vinv-301",
                    "qbo_bill_id": "2210",
                    "qbo_bill_payment_id": "733",
                    "reversal": "voided",
                    "amount_reversed": "420.00",
                    "remaining_balance": "420.00",
                    "status": "unpaid",
                    "currency": "USD",
                }
            ]
        }
    )

    bill_id: Identifier = Field(description="Upstream id of the vendor invoice.")
    qbo_bill_id: Identifier = Field(description="QBO id of the Bill (its sync key).")
    qbo_bill_payment_id: Identifier = Field(description="QBO id of the BillPayment.")
    reversal: Literal["voided", "deleted"] = Field(
        description="How the bill payment was undone in QBO."
    )
    amount_reversed: Money = Field(
        description="Amount that was applied to this bill and no longer is."
    )
    remaining_balance: Money = Field(description="What is still owed on the bill after this.")
    status: Literal["paid", "partially-paid", "unpaid"] = Field(
        description="The bill's state after the reversal."
    )
    currency: CurrencyCode = Field(description=CURRENCY_DESCRIPTION)


class PaymentUnapplied(ResultEvent):
    """The unapplied part (customer credit) of a QBO payment is new or changed.

    Published for every payment made in QBO (not exported by qbsync) whose unapplied amount
    differs from the last one reported for it, including a payment applied to no invoice at all;
    a void or delete of a payment with reported credit publishes 0.00.
    """

    event_type = "qbsync.payment.unapplied.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "qbo_payment_id": "416",
                    "qbo_customer_id": "58",
                    "unapplied_amount": "250.00",
                    "total_amount": "250.00",
                    "paid_on": "2026-03-26",
                    "method": "Check",
                    "reference": "10443",
                    "currency": "USD",
                    "state": "active",
                }
            ]
        }
    )

    qbo_payment_id: Identifier = Field(description=QBO_PAYMENT_DESCRIPTION)
    qbo_customer_id: Identifier | None = Field(
        None,
        description="QBO id of the payment's Customer (the client's sync key); null only for a "
        "deleted payment.",
    )
    unapplied_amount: Money = Field(
        description="The payment's current unapplied amount (replaces any earlier value for "
        "this payment); 0 after a void or delete."
    )
    total_amount: Money = Field(
        description="The payment's total (TotalAmt); 0 for a voided or deleted payment."
    )
    paid_on: date | None = Field(
        None, description="QBO transaction date; null only for a deleted payment."
    )
    method: str | None = Field(None, description="QBO payment method name, if any.")
    reference: str | None = Field(None, description="QBO PaymentRefNum, if any.")
    currency: CurrencyCode | None = Field(
        None, description="Currency of the payment; null if QBO did not say (deleted payment)."
    )
    state: Literal["active", "voided", "deleted"] = Field(
        description="active, or voided / deleted (then the credit is gone)."
    )
