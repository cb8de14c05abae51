"""Mapping decided changes to contract events: exact money, statuses, stable event ids."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from payment_poller.domain.model import (
    Change,
    CreditChange,
    Doc,
    QboPayment,
    Reported,
    ReportKey,
)
from payment_poller.service_layer.publication import credit_event, event_id, money, to_event
from qbsync_common.contract import events


def change(kind: str, balance: str, amount: str = "40") -> Change:
    doc = Doc("invoice", "inv-1", "10", "N1", Decimal("100"), Decimal(balance), "USD")
    payment = QboPayment("payment", "p1", "3", "active", unapplied=Decimal("5"))
    key = ReportKey("payment", "p1", "invoice", "inv-1", "p1")
    report = Reported(key, "payment", Decimal(amount), None, "Check", "CHK-1", True)
    return Change(kind, doc, payment, report, Decimal(amount), unapplied=Decimal("5"))  # type: ignore[arg-type]


def test_money_keeps_cents_and_extra_precision() -> None:
    assert str(money(Decimal("25"))) == "25.00"
    assert str(money(Decimal("25.5"))) == "25.50"
    assert str(money(Decimal("0.125"))) == "0.125"


def test_received_changed_and_reversed_events() -> None:
    received = to_event(change("received", "60"))
    assert isinstance(received, events.PaymentReceived)
    assert (received.status, received.remaining_balance, received.unapplied_amount) == (
        "partially-paid",
        Decimal("60.00"),
        Decimal("5.00"),
    )
    changed = to_event(change("changed", "100", amount="0"))
    assert isinstance(changed, events.PaymentChanged)
    assert changed.status == "unpaid"


def test_bill_corrections_have_their_events() -> None:
    def bill_change(kind: str, amount: str, balance: str, reversal: str | None = None) -> Change:
        doc = Doc("bill", "vb-1", "20", "B1", Decimal("100"), Decimal(balance), "USD")
        payment = QboPayment("bill_payment", "bp1", "2", "voided", method="Check")
        key = ReportKey("bill_payment", "bp1", "bill", "vb-1", "bp1")
        report = Reported(key, "payment", Decimal(amount), None, "Check", None, True)
        return Change(kind, doc, payment, report, Decimal(amount), reversal)  # type: ignore[arg-type]

    changed = to_event(bill_change("bill_changed", "70", "30"))
    assert isinstance(changed, events.BillPaymentChanged)
    assert (changed.bill_id, changed.qbo_bill_payment_id, changed.amount_applied) == (
        "vb-1",
        "bp1",
        Decimal("70.00"),
    )
    assert changed.status == "partially-paid"
    reversed_ = to_event(bill_change("bill_reversed", "70", "100", "voided"))
    assert isinstance(reversed_, events.BillPaymentReversed)
    assert (reversed_.reversal, reversed_.amount_reversed, reversed_.status) == (
        "voided",
        Decimal("70.00"),
        "unpaid",
    )


def test_reversal_of_credit_memo_credit_names_the_credit_memo() -> None:
    doc = Doc("invoice", "inv-1", "10", "N1", Decimal("100"), Decimal("100"), "USD")
    payment = QboPayment("payment", "p1", "4", "voided")
    key = ReportKey("payment", "p1", "invoice", "inv-1", "cm-77")
    report = Reported(key, "credit_memo", Decimal("30"), None, None, None, False)
    event = to_event(Change("reversed", doc, payment, report, Decimal("30"), "voided"))
    assert isinstance(event, events.PaymentReversed)
    assert (event.qbo_payment_id, event.applied_from) == ("cm-77", "credit_memo")


def test_credit_event() -> None:
    payment = QboPayment(
        "payment",
        "p9",
        "0",
        "active",
        txn_date=date(2026, 3, 26),
        method="Check",
        reference="R-1",
        currency="USD",
        total=Decimal("250"),
        unapplied=Decimal("250"),
        party_id="58",
    )
    event = credit_event(CreditChange(payment, Decimal("250")))
    assert event.model_dump(mode="json") == {
        "qbo_payment_id": "p9",
        "qbo_customer_id": "58",
        "unapplied_amount": "250.00",
        "total_amount": "250.00",
        "paid_on": "2026-03-26",
        "method": "Check",
        "reference": "R-1",
        "currency": "USD",
        "state": "active",
    }


def test_event_ids_are_stable_per_tenant_and_change() -> None:
    key = change("received", "60").dedupe_key
    assert key == "payment:p1:3:invoice:inv-1:p1"
    assert event_id("t1", key) == event_id("t1", key)
    assert event_id("t1", key) != event_id("t2", key)
