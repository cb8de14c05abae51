"""Payment export decisions and amounts: toggle and override, partial, over-, foreign payments."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoice_sync.domain.amounts import CompanyCurrency
from invoice_sync.domain.payment_rules import (
    bill_payment_payload,
    bill_payment_refusal,
    payment_amounts,
    payment_payload,
    should_export,
)
from invoice_sync.domain.policy import SyncPolicy

USD = CompanyCurrency("USD", multicurrency=False)


@pytest.mark.parametrize(
    ("override", "default", "expected"),
    [(None, True, True), (None, False, False), (True, False, True), (False, True, False)],
)
def test_event_override_wins_over_tenant_default(
    override: bool | None, default: bool, expected: bool
) -> None:
    assert should_export(override, SyncPolicy(export_payments_by_default=default)) is expected


def test_partial_payment_is_fully_applied() -> None:
    amounts = payment_amounts(Decimal("100"), "USD", Decimal(1), Decimal("300"), USD)
    assert (amounts.total, amounts.applied, amounts.unapplied) == (
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("0.00"),
    )


def test_overpayment_leaves_the_rest_unapplied() -> None:
    amounts = payment_amounts(Decimal("350"), "USD", Decimal(1), Decimal("300"), USD)
    assert amounts.applied == Decimal("300")
    assert amounts.unapplied == Decimal("50.00")


def test_foreign_payment_is_converted_half_even_in_a_single_currency_company() -> None:
    amounts = payment_amounts(Decimal("0.05"), "EUR", Decimal("1.1"), Decimal("10"), USD)
    assert amounts.total == Decimal("0.06")
    assert amounts.exchange_rate is None


def test_multi_currency_keeps_the_amount_and_sets_the_rate() -> None:
    company = CompanyCurrency("USD", multicurrency=True)
    amounts = payment_amounts(Decimal("50"), "EUR", Decimal("1.08"), Decimal("50"), company)
    assert amounts.total == Decimal("50.00")
    assert amounts.exchange_rate == Decimal("1.08")
    body = payment_payload(
        amounts,
        customer_key="5",
        invoice_key="9",
        paid_on="2026-03-20",
        reference=None,
        deposit_account_id="4",
        currency="EUR",
        operation="op-1",
        payment_id="pay-1",
    )
    assert body["CurrencyRef"] == {"value": "EUR"}
    assert body["Line"] == [
        {"Amount": Decimal("50.00"), "LinkedTxn": [{"TxnId": "9", "TxnType": "Invoice"}]}
    ]
    assert "qbsync-op:op-1" in body["PrivateNote"]


def test_payment_on_a_settled_invoice_is_all_credit() -> None:
    amounts = payment_amounts(Decimal("20"), "USD", Decimal(1), Decimal("0"), USD)
    assert amounts.applied == Decimal(0)
    body = payment_payload(
        amounts,
        customer_key="5",
        invoice_key="9",
        paid_on="2026-03-20",
        reference="R",
        deposit_account_id=None,
        currency=None,
        operation="op",
        payment_id="p",
    )
    assert body["Line"] == []


def bill_payment(amount: str, balance: str) -> dict[str, object]:
    amounts = payment_amounts(Decimal(amount), "USD", Decimal(1), Decimal(balance), USD)
    return bill_payment_payload(
        amounts,
        vendor_key="7",
        bill_key="9",
        paid_on="2026-03-20",
        bank_account_id="35",
        currency=None,
        operation="op",
        payment_id="p",
    )


def test_bill_payment_within_the_balance_pays_it_all() -> None:
    amounts = payment_amounts(Decimal("120"), "USD", Decimal(1), Decimal("300"), USD)
    assert bill_payment_refusal(amounts, "inv-1", "USD") is None
    body = bill_payment("120", "300")
    assert body["TotalAmt"] == Decimal("120.00")
    assert body["Line"] == [
        {"Amount": Decimal("120.00"), "LinkedTxn": [{"TxnId": "9", "TxnType": "Bill"}]}
    ]


def test_bill_overpayment_is_refused_with_both_amounts() -> None:
    amounts = payment_amounts(Decimal("350"), "USD", Decimal(1), Decimal("300"), USD)
    refusal = bill_payment_refusal(amounts, "inv-1", "USD")
    assert refusal is not None
    assert (refusal.reason, refusal.amount, refusal.open_balance, refusal.currency) == (
        "overpayment",
        Decimal("350.00"),
        Decimal("300.00"),
        "USD",
    )
    assert "payment of 350.00 USD is 50.00 more than the 300" in refusal.message
    assert "bill inv-1" in refusal.message
    with pytest.raises(ValueError, match="positive amount the bill still owes"):
        bill_payment("350", "300")


def test_payment_on_a_settled_bill_is_refused_never_a_zero_bill_payment() -> None:
    amounts = payment_amounts(Decimal("20"), "USD", Decimal(1), Decimal("0"), USD)
    refusal = bill_payment_refusal(amounts, "inv-2", "USD")
    assert refusal is not None
    assert (refusal.reason, refusal.amount, refusal.open_balance) == (
        "overpayment",
        Decimal("20.00"),
        Decimal("0.00"),
    )
    assert str(refusal.open_balance) == "0.00"
    assert refusal.message.startswith("Bill inv-2 owes nothing in QuickBooks")
    with pytest.raises(ValueError, match="positive amount"):
        bill_payment("20", "0")
