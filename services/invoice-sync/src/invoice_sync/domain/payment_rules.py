"""Upstream payments: whether to export one, and the QBO Payment body linked to its invoice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoice_sync.domain.amounts import CompanyCurrency, to_cents
from invoice_sync.domain.identity import marker
from invoice_sync.domain.policy import SyncPolicy


def should_export(override: bool | None, policy: SyncPolicy) -> bool:
    """The event's explicit choice wins; otherwise the tenant's default."""
    return policy.export_payments_by_default if override is None else override


@dataclass(frozen=True)
class PaymentAmounts:
    """What the QBO Payment carries: the total received, the part applied to the invoice, and
    the rest left unapplied (an overpayment becomes a customer credit in QBO)."""

    total: Decimal
    applied: Decimal
    unapplied: Decimal
    exchange_rate: Decimal | None


def payment_amounts(
    amount: Decimal,
    payment_currency: str,
    invoice_rate: Decimal,
    invoice_balance: Decimal,
    company: CompanyCurrency,
) -> PaymentAmounts:
    """Single-currency company: a foreign payment is converted with the invoice's upstream rate,
    half-even to cents like the invoice. Multi-currency: kept in the invoice's currency."""
    foreign = payment_currency != company.home_currency
    if company.multicurrency or not foreign:
        total = to_cents(amount)
        rate = invoice_rate if (company.multicurrency and foreign) else None
    else:
        total, rate = to_cents(amount * invoice_rate), None
    applied = min(total, max(invoice_balance, Decimal(0)))
    return PaymentAmounts(total, applied, total - applied, rate)


def bill_payment_payload(
    amounts: PaymentAmounts,
    *,
    vendor_key: str,
    bill_key: str,
    paid_on: str,
    bank_account_id: str,
    currency: str | None,
    operation: str,
    payment_id: str,
) -> dict[str, Any]:
    """A check bill payment; QBO keeps no unapplied money on bill payments, so only the part the
    bill still owes is paid (the caller reports any excess)."""
    body: dict[str, Any] = {
        "VendorRef": {"value": vendor_key},
        "PayType": "Check",
        "CheckPayment": {"BankAccountRef": {"value": bank_account_id}},
        "TotalAmt": amounts.applied,
        "TxnDate": paid_on,
        "PrivateNote": f"Recorded upstream as payment {payment_id}. {marker(operation)}",
        "Line": [
            {"Amount": amounts.applied, "LinkedTxn": [{"TxnId": bill_key, "TxnType": "Bill"}]}
        ],
    }
    if currency is not None:
        body["CurrencyRef"] = {"value": currency}
        if amounts.exchange_rate is not None:
            body["ExchangeRate"] = amounts.exchange_rate
    return body


def payment_payload(
    amounts: PaymentAmounts,
    *,
    customer_key: str,
    invoice_key: str,
    paid_on: str,
    reference: str | None,
    deposit_account_id: str | None,
    currency: str | None,
    operation: str,
    payment_id: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_key},
        "TotalAmt": amounts.total,
        "TxnDate": paid_on,
        # The marker tells the payment poller this payment came from upstream: never echo it back.
        "PrivateNote": f"Recorded upstream as payment {payment_id}. {marker(operation)}",
        "Line": [],
    }
    if amounts.applied > 0:
        body["Line"] = [
            {"Amount": amounts.applied, "LinkedTxn": [{"TxnId": invoice_key, "TxnType": "Invoice"}]}
        ]
    if reference:
        body["PaymentRefNum"] = reference[:21]
    if deposit_account_id:
        body["DepositToAccountRef"] = {"value": deposit_account_id}
    if currency is not None:
        body["CurrencyRef"] = {"value": currency}
        if amounts.exchange_rate is not None:
            body["ExchangeRate"] = amounts.exchange_rate
    return body
