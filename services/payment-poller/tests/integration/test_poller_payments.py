"""Payments made in QBO become payment.received / changed / reversed and bill.paid, once each."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from docs import synced

from conftest import World
from qbo_client import Payment
from qbo_client.models import BillPayment

pytestmark = pytest.mark.integration

RECEIVED = "qbsync.payment.received.v1"
CHANGED = "qbsync.payment.changed.v1"
REVERSED = "qbsync.payment.reversed.v1"
BILL_PAID = "qbsync.bill.paid.v1"
UNAPPLIED = "qbsync.payment.unapplied.v1"
BILL_CHANGED = "qbsync.bill.payment_changed.v1"
BILL_REVERSED = "qbsync.bill.payment_reversed.v1"


async def test_full_and_partial_payments_are_published_once(world: World) -> None:
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    document_id = await synced(world, p, invoice)
    await world.books.user_pays(invoice_id=invoice.Id, amount="40.00")
    assert await world.poll_now(p) == 1
    [first] = await world.events(RECEIVED)
    assert first["invoice_id"] == document_id
    assert first["qbo_invoice_id"] == invoice.Id
    assert Decimal(first["amount_applied"]) == Decimal("40.00")
    assert Decimal(first["remaining_balance"]) == Decimal("60.00")
    assert first["status"] == "partially-paid"
    assert first["applied_from"] == "payment"

    await world.books.user_pays(invoice_id=invoice.Id)  # the rest
    await world.poll_now(p)
    await world.poll_now(p)  # nothing new: the overlap window sees both payments again
    received = await world.events(RECEIVED)
    assert len(received) == 2
    assert Decimal(received[1]["amount_applied"]) == Decimal("60.00")
    assert Decimal(received[1]["remaining_balance"]) == Decimal("0")
    assert received[1]["status"] == "paid"
    runs = await world.runs()
    assert [r["outcome"] for r in runs] == ["ok", "ok", "ok"]
    assert [r["events_published"] for r in runs] == [1, 1, 0]
    assert runs[0]["payments_seen"] == 1


async def test_one_payment_several_invoices_and_a_credit_memo(world: World) -> None:
    p = await world.poller()
    a = await world.books.invoice("100.00")
    b = await world.books.invoice("80.00")
    credit = await world.books.credit_memo("30.00")
    id_a = await synced(world, p, a)
    id_b = await synced(world, p, b)
    payment = await world.books.payment(
        [
            ("Invoice", a.Id or "", "100.00"),
            ("Invoice", b.Id or "", "50.00"),
            ("CreditMemo", credit.Id or "", "30.00"),
        ],
        total="150.00",
    )
    assert payment.UnappliedAmt == Decimal("30.00")  # 150 paid, 120 of it applied
    await world.poll_now(p)
    got = sorted(
        (e["invoice_id"], e["applied_from"], e["qbo_payment_id"], Decimal(e["amount_applied"]))
        for e in await world.events(RECEIVED)
    )
    assert got == sorted(
        [
            (id_a, "credit_memo", credit.Id, Decimal("30.00")),
            (id_a, "payment", payment.Id, Decimal("70.00")),
            (id_b, "payment", payment.Id, Decimal("50.00")),
        ]
    )
    by_invoice = {e["invoice_id"]: e for e in await world.events(RECEIVED)}
    assert by_invoice[id_a]["status"] == "paid"
    assert Decimal(by_invoice[id_b]["remaining_balance"]) == Decimal("30.00")
    # The customer credit is on one event of the payment only: its own money on invoice a.
    assert sorted(
        (e["invoice_id"], e["applied_from"], Decimal(e["unapplied_amount"]))
        for e in await world.events(RECEIVED)
    ) == sorted(
        [
            (id_a, "credit_memo", Decimal("0")),
            (id_a, "payment", Decimal("30.00")),
            (id_b, "payment", Decimal("0")),
        ]
    )
    [credit_event] = await world.events(UNAPPLIED)
    assert credit_event["qbo_payment_id"] == payment.Id
    assert Decimal(credit_event["unapplied_amount"]) == Decimal("30.00")
    assert credit_event["qbo_customer_id"] == await world.books.customer()


async def test_payment_edited_voided_and_deleted(world: World) -> None:
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    await synced(world, p, invoice)
    pay = await world.books.payment([("Invoice", invoice.Id or "", "50.00")], total="50.00")
    await world.poll_now(p)
    edited = await world.books.s.update(
        Payment.model_validate(
            {
                **pay.to_payload(),
                "TotalAmt": Decimal("70.00"),
                "Line": [
                    {
                        "Amount": Decimal("70.00"),
                        "LinkedTxn": [{"TxnId": invoice.Id, "TxnType": "Invoice"}],
                    }
                ],
            }
        ),
        request_id="edit-" + (pay.Id or ""),
    )
    await world.poll_now(p)
    [changed] = await world.events(CHANGED)
    assert Decimal(changed["amount_applied"]) == Decimal("70.00")
    assert Decimal(changed["remaining_balance"]) == Decimal("30.00")
    assert changed["status"] == "partially-paid"

    await world.books.s.void(edited, request_id="void-" + (pay.Id or ""))
    await world.poll_now(p)
    [voided] = await world.events(REVERSED)
    assert voided["reversal"] == "voided"
    assert Decimal(voided["amount_reversed"]) == Decimal("70.00")
    assert Decimal(voided["remaining_balance"]) == Decimal("100.00")
    assert voided["status"] == "unpaid"

    second = await world.books.payment([("Invoice", invoice.Id or "", "25.00")], total="25.00")
    await world.poll_now(p)
    await world.books.s.delete(second, request_id="del-" + (second.Id or ""))
    await world.poll_now(p)
    await world.poll_now(p)
    reversed_ = await world.events(REVERSED)
    assert [(e["reversal"], e["qbo_payment_id"]) for e in reversed_] == [
        ("voided", pay.Id),
        ("deleted", second.Id),
    ]
    assert Decimal(reversed_[1]["remaining_balance"]) == Decimal("100.00")
    assert len(await world.events(RECEIVED)) == 2
    assert len(await world.events(CHANGED)) == 1


async def test_bill_payment_publishes_bill_paid(world: World) -> None:
    p = await world.poller()
    bill = await world.books.bill("200.00")
    bill_id = await synced(world, p, bill, kind="bill")
    await world.books.user_pays(bill_id=bill.Id, amount="200.00")
    await world.poll_now(p)
    [paid] = await world.events(BILL_PAID)
    assert paid["bill_id"] == bill_id
    assert paid["qbo_bill_id"] == bill.Id
    assert Decimal(paid["amount_applied"]) == Decimal("200.00")
    assert paid["status"] == "paid"
    assert paid["method"] == "Check"


async def test_payment_exported_from_upstream_is_not_echoed(world: World) -> None:
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    await synced(world, p, invoice)
    await world.books.payment(
        [("Invoice", invoice.Id or "", "100.00")],
        total="100.00",
        note="Recorded upstream as payment pay-42. qbsync-op:6f1d3c52-1b8e-5b4e-a0c4-2d9e7f3a1b10",
    )
    await world.poll_now(p)
    assert await world.outbox() == []
    [run] = await world.runs()
    assert run["payments_seen"] == 1
    assert run["events_published"] == 0


async def test_payment_made_before_the_document_event_arrived_still_counts(world: World) -> None:
    p = await world.poller()
    await synced(world, p, await world.books.invoice("10.00"))
    synced_at = datetime.now(UTC)
    invoice = await world.books.invoice("100.00")  # invoice-sync created it at synced_at
    await world.books.user_pays(invoice_id=invoice.Id, amount="100.00")
    await world.poll_now(p)  # the cursor passes the payment: its invoice is not known yet
    assert await world.outbox() == []
    await synced(world, p, invoice, at=synced_at)  # the late DocumentSynced
    await world.poll_now(p)
    [received] = await world.events(RECEIVED)
    assert received["qbo_invoice_id"] == invoice.Id
    assert received["status"] == "paid"


async def test_bill_payment_edited_voided_and_deleted(world: World) -> None:
    p = await world.poller()
    bill = await world.books.bill("200.00")
    bill_id = await synced(world, p, bill, kind="bill")
    paid = await world.books.user_pays(bill_id=bill.Id, amount="120.00")
    await world.poll_now(p)
    assert len(await world.events(BILL_PAID)) == 1

    current = await world.books.s.get(BillPayment, paid["BillPayment"]["Id"])
    edited = await world.books.s.update(
        BillPayment.model_validate(
            {
                **current.to_payload(),
                "TotalAmt": Decimal("150.00"),
                "Line": [
                    {
                        "Amount": Decimal("150.00"),
                        "LinkedTxn": [{"TxnId": bill.Id, "TxnType": "Bill"}],
                    }
                ],
            }
        ),
        request_id="edit-" + (current.Id or ""),
    )
    await world.poll_now(p)
    [changed] = await world.events(BILL_CHANGED)
    assert (changed["bill_id"], changed["qbo_bill_payment_id"]) == (bill_id, current.Id)
    assert Decimal(changed["amount_applied"]) == Decimal("150.00")
    assert Decimal(changed["remaining_balance"]) == Decimal("50.00")
    assert changed["status"] == "partially-paid"

    await world.books.s.void(edited, request_id="void-" + (current.Id or ""))
    await world.poll_now(p)
    [voided] = await world.events(BILL_REVERSED)
    assert voided["reversal"] == "voided"
    assert Decimal(voided["amount_reversed"]) == Decimal("150.00")
    assert Decimal(voided["remaining_balance"]) == Decimal("200.00")
    assert voided["status"] == "unpaid"

    second = await world.books.user_pays(bill_id=bill.Id, amount="80.00")
    await world.poll_now(p)
    second_payment = await world.books.s.get(BillPayment, second["BillPayment"]["Id"])
    await world.books.s.delete(second_payment, request_id="del-" + (second_payment.Id or ""))
    await world.poll_now(p)
    await world.poll_now(p)  # the overlap window sees everything again: nothing new
    reversals = await world.events(BILL_REVERSED)
    assert [(e["reversal"], e["qbo_bill_payment_id"]) for e in reversals] == [
        ("voided", current.Id),
        ("deleted", second_payment.Id),
    ]
    assert Decimal(reversals[1]["amount_reversed"]) == Decimal("80.00")
    assert Decimal(reversals[1]["remaining_balance"]) == Decimal("200.00")
    assert len(await world.events(BILL_PAID)) == 2
    assert len(await world.events(BILL_CHANGED)) == 1


async def test_voiding_a_payment_that_applied_a_credit_memo_reverses_both_parts(
    world: World,
) -> None:
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    credit = await world.books.credit_memo("30.00")
    document_id = await synced(world, p, invoice)
    pay = await world.books.payment(
        [("Invoice", invoice.Id or "", "100.00"), ("CreditMemo", credit.Id or "", "30.00")],
        total="70.00",
    )
    await world.poll_now(p)
    received = {(e["qbo_payment_id"], e["applied_from"]) for e in await world.events(RECEIVED)}
    assert received == {(credit.Id, "credit_memo"), (pay.Id, "payment")}

    await world.books.s.void(pay, request_id="void-" + (pay.Id or ""))
    await world.poll_now(p)
    reversed_ = await world.events(REVERSED)
    # Each reversal names the application exactly as the payment.received it undoes did.
    assert sorted(
        (e["invoice_id"], e["qbo_payment_id"], e["applied_from"], Decimal(e["amount_reversed"]))
        for e in reversed_
    ) == sorted(
        [
            (document_id, credit.Id, "credit_memo", Decimal("30.00")),
            (document_id, pay.Id, "payment", Decimal("70.00")),
        ]
    )
    assert {e["reversal"] for e in reversed_} == {"voided"}
    assert {Decimal(e["remaining_balance"]) for e in reversed_} == {Decimal("100.00")}


async def test_a_fully_unapplied_payment_is_reported_as_customer_credit(world: World) -> None:
    p = await world.poller()
    await synced(world, p, await world.books.invoice("10.00"))  # the tenant is watched
    credit = await world.books.payment([], total="250.00")
    assert credit.UnappliedAmt == Decimal("250.00")
    await world.poll_now(p)
    await world.poll_now(p)  # seen again in the overlap: not reported twice
    [event] = await world.events(UNAPPLIED)
    assert event["qbo_payment_id"] == credit.Id
    assert event["qbo_customer_id"] == await world.books.customer()
    assert Decimal(event["unapplied_amount"]) == Decimal("250.00")
    assert Decimal(event["total_amount"]) == Decimal("250.00")
    assert (event["state"], event["reference"]) == ("active", "CHK-1")
    assert await world.events(RECEIVED) == []

    await world.books.s.delete(credit, request_id="del-" + (credit.Id or ""))
    await world.poll_now(p)
    gone = (await world.events(UNAPPLIED))[1:]
    assert [(e["qbo_payment_id"], e["state"], Decimal(e["unapplied_amount"])) for e in gone] == [
        (credit.Id, "deleted", Decimal("0"))
    ]
