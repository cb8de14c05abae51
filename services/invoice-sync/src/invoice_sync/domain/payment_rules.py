"""Upstream payments: whether to export one, and the QBO Payment body linked to its invoice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

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


@dataclass(frozen=True)
class PaymentRefusal:
    """Why a payment is not sent to QBO: the reason code and message upstream gets, and for an
    overpayment the two amounts compared (in `currency`), so upstream need not parse the text."""

    reason: Literal["overpayment", "other"]
    message: str
    amount: Decimal | None = None
    open_balance: Decimal | None = None
    currency: str | None = None


def bill_payment_refusal(
    amounts: PaymentAmounts, bill_id: str, currency: str
) -> PaymentRefusal | None:
    """Why a payment cannot go to QBO as a bill payment, or None. QBO keeps no unapplied money on
    bill payments, so a payment the bill cannot take in full is refused as a whole: sending only
    the owed part would leave QBO and upstream disagreeing about what was paid. A payment on a
    settled bill is an overpayment too, by all of it."""
    if amounts.applied > 0 and amounts.unapplied <= 0:
        return None
    paid = f"{amounts.total} {currency}"
    if amounts.applied <= 0:
        message = (
            f"Bill {bill_id} owes nothing in QuickBooks, so the payment of {paid} was not sent "
            "(QuickBooks keeps no unapplied money on bill payments). Check the payment upstream, "
            "or record it in QuickBooks by hand."
        )
    else:
        message = (
            f"The payment of {paid} is {amounts.unapplied} more than the {amounts.applied} "
            f"bill {bill_id} still owes in QuickBooks, and QuickBooks keeps no unapplied money on "
            "bill payments, so nothing was sent. Correct the amount upstream (the new version is "
            "exported), or record the payment in QuickBooks by hand."
        )
    return PaymentRefusal(
        "overpayment",
        message,
        amount=amounts.total,
        open_balance=to_cents(max(amounts.applied, Decimal(0))),
        currency=currency,
    )


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
    """A check bill payment for exactly what the bill owes at most (see bill_payment_refusal)."""
    if amounts.applied <= 0 or amounts.unapplied != 0:
        raise ValueError("a bill payment must pay a positive amount the bill still owes")
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
