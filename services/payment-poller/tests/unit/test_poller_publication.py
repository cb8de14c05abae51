"""Mapping decided changes to contract events: exact money, statuses, stable event ids."""

from __future__ import annotations

from decimal import Decimal

from payment_poller.domain.model import Change, Doc, QboPayment, Reported, ReportKey
from payment_poller.service_layer.publication import event_id, money, to_event
from qbsync_common.contract import events


def change(kind: str, balance: str, amount: str = "40") -> Change:
    doc = Doc("invoice", "inv-1", "10", "N1", Decimal("100"), Decimal(balance), "USD")
    payment = QboPayment("payment", "p1", "3", "active", unapplied=Decimal("5"))
    key = ReportKey("payment", "p1", "invoice", "inv-1", "p1")
    report = Reported(key, "payment", Decimal(amount), None, "Check", "CHK-1", True)
    return Change(kind, doc, payment, report, Decimal(amount))  # type: ignore[arg-type]


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
    assert to_event(change("bill_changed", "0")) is None  # no contract event for it yet


def test_event_ids_are_stable_per_tenant_and_change() -> None:
    key = change("received", "60").dedupe_key
    assert key == "payment:p1:3:invoice:inv-1:p1"
    assert event_id("t1", key) == event_id("t1", key)
    assert event_id("t1", key) != event_id("t2", key)
